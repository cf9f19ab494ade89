"""The table on stdout, the JSON line in results/results.jsonl, and the plot of recent runs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.actions import KINDS
from bench.harness import Phase
from bench.scenarios import SIDES

__all__ = ["RESULTS", "append", "plot", "record", "table"]

RESULTS = Path(__file__).with_name("results")
JSONL = RESULTS / "results.jsonl"
LATENCIES = ("start", "activate")  # for lines written before scenarios named theirs
RUNS_PLOTTED = 8


def _per_unit_ms(cpu_s: float | None, n: int) -> float | None:
    return 1000 * cpu_s / n if cpu_s is not None and n else None


def _phase(p: Phase) -> dict[str, Any]:
    driver, workers = p.usage.driver, p.usage.workers
    return {
        "throughput_per_s": p.throughput,
        "rate_per_s": p.rate_per_s,
        "saturated_per_s": p.saturated_per_s,
        "wall_s": p.wall_s,
        "failures": p.failures,
        "first_failure": p.first_failure,
        "latency_ms": {name: p.percentiles_ms(name) for name in sorted(p.latencies_s)},
        "events_per_workflow": p.events_per_workflow,
        "actions_per_workflow": p.actions_per_workflow,
        "actions_by_kind": p.actions_by_kind,
        "worker_in_process": workers is None,
        "worker_cpu_s": workers.cpu_s if workers else None,
        "worker_cpu_ms_per_unit": _per_unit_ms(workers.cpu_s, p.n) if workers else None,
        "worker_peak_rss_mb": workers.peak_rss_mb if workers else None,
        "worker_rss_end_mb": workers.rss_mb if workers else None,
        "driver_cpu_s": driver.cpu_s,
        "driver_cpu_ms_per_unit": _per_unit_ms(driver.cpu_s, p.n),
        "driver_peak_rss_mb": driver.peak_rss_mb,
        "peak_rss_scope": driver.peak_rss_scope,
        "server_cpu_s": p.usage.server_cpu_s,
        "extra": p.extra,
    }


def record(meta: dict[str, Any], phases: dict[str, Phase]) -> dict[str, Any]:
    """The JSON line: the run's facts and each side's figures (``None``: not run)."""
    line: dict[str, Any] = dict(meta)
    for side in SIDES:
        line[side] = _phase(phases[side]) if side in phases else None
    return line


def append(line: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    with JSONL.open("a", encoding="utf-8") as f:
        f.write(json.dumps(line, sort_keys=True) + "\n")
    return JSONL


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _ratio(ours: float | None, bare: float | None) -> str:
    if ours is None or bare is None or bare == 0:
        return "-"
    return f"{ours / bare:.2f}x"


Row = tuple[str, dict[str, float | None], int]  # label, figure by side, digits


def _rows(line: dict[str, Any]) -> list[Row]:
    sides: dict[str, dict[str, Any]] = {side: line.get(side) or {} for side in SIDES}

    def key(*path: str) -> dict[str, float | None]:
        """Each side's figure under ``path`` (nested keys); None where a side has none."""
        out: dict[str, float | None] = {}
        for side, figures in sides.items():
            value: Any = figures
            for name in path:
                value = value.get(name) if isinstance(value, dict) else None
            out[side] = value
        return out

    unit = line["unit"][:-1]
    rows: list[Row] = [(f"throughput ({line['unit']}/s)", key("throughput_per_s"), 1)]
    if line.get("half_saturation") or line.get("rate"):
        rows += [
            ("saturated (closed loop, /s)", key("saturated_per_s"), 1),
            ("open-loop arrivals (/s)", key("rate_per_s"), 1),
        ]
    for name in line.get("latencies") or LATENCIES:
        for q in ("p50", "p95", "p99"):
            rows.append((f"{name} {q} (ms)", key("latency_ms", name, q), 0))
    # The scenario's own figures (its finish step), in the order it gave them.
    for name in dict.fromkeys(k for f in sides.values() for k in f.get("extra") or {}):
        rows.append((name, key("extra", name), 1))
    rows += [
        ("history events/workflow", key("events_per_workflow"), 1),
        ("billable actions/workflow", key("actions_per_workflow"), 1),
    ]
    for kind in KINDS:
        by_kind = key("actions_by_kind", kind)
        if any(v is not None for v in by_kind.values()):
            rows.append((f"  {kind}", by_kind, 1))
    rows += [
        ("worker CPU (s)", key("worker_cpu_s"), 1),
        (f"worker CPU ms/{unit}", key("worker_cpu_ms_per_unit"), 1),
        ("worker peak RSS (MB)", key("worker_peak_rss_mb"), 0),
        ("worker RSS at end (MB)", key("worker_rss_end_mb"), 0),
        ("driver CPU (s)", key("driver_cpu_s"), 1),
        (f"driver CPU ms/{unit}", key("driver_cpu_ms_per_unit"), 1),
        ("driver peak RSS (MB)", key("driver_peak_rss_mb"), 0),
        ("dev-server CPU (s)", key("server_cpu_s"), 1),
        ("failures", key("failures"), 0),
    ]
    return rows


def _head(line: dict[str, Any]) -> str:
    head = (
        f"scenario {line['scenario']}  db {line['db']}  n {line['n']}  "
        f"concurrency {line['concurrency']}  temporal: {line['temporal']}"
    )
    order = line.get("order") or []
    if len(order) > len(set(order)):
        head += f"  phases {', '.join(order)}"
    if line.get("loadavg_1m_at_start") is not None:
        head += f"  load {line['loadavg_1m_at_start']:.1f} on {line.get('cpus')} CPUs at start"
    return head


def table(line: dict[str, Any]) -> str:
    rows = _rows(line)
    width = max(len(r[0]) for r in rows)
    # The api side (ours over the HTTP API) only where it ran; the ratios stay ours' own.
    shown = [side for side in SIDES if side != "api" or line.get("api")]
    columns = "  ".join(f"{side:>10}" for side in shown)
    extra = f"  {'api/ours':>8}" if "api" in shown else ""
    out = [_head(line), f"{'':{width}}  {columns}  {'ours/mirror':>11}  {'ours/bare':>9}{extra}"]
    for label, by_side, digits in rows:
        ours, mirror, bare = by_side["ours"], by_side["mirror"], by_side["bare"]
        cells = "  ".join(f"{_num(by_side[side], digits):>10}" for side in shown)
        ratios = f"{_ratio(ours, mirror):>11}  {_ratio(ours, bare):>9}"
        if extra:
            ratios += f"  {_ratio(by_side['api'], ours):>8}"
        out.append(f"{label:{width}}  {cells}  {ratios}")
    scope = next((f["peak_rss_scope"] for s in SIDES if (f := line.get(s))), None)
    out.append(
        "ours = python worker.py; api = ours with the calls made over the HTTP API (where shown); "
        "mirror = the bare mirror's workflow code with our activities "
        "(python -m bench.mirror_worker), driven as ours; bare = the bare mirror with no-op "
        "activities (python -m bench.bare_worker). worker = the side's worker child process; "
        "driver = the bench process (iterations, facade, SMTP server); dev-server = the Temporal "
        f"child process (- on an external cluster); peak RSS per {scope}. Billable actions: "
        "Temporal Cloud's, counted from the histories (bench/actions.py)."
    )
    for side in SIDES:
        figures = line.get(side) or {}
        if figures.get("worker_in_process"):
            out.append(f"{side}: worker inside the bench process (its CPU is in driver CPU)")
        if figures.get("failures"):
            out.append(f"{side}: {figures['failures']} failed; first: {figures['first_failure']}")
    return "\n".join(out)


def _load(scenario: str) -> list[dict[str, Any]]:
    if not JSONL.exists():
        return []
    lines = [json.loads(s) for s in JSONL.read_text(encoding="utf-8").splitlines() if s.strip()]
    return [x for x in lines if x.get("scenario") == scenario][-RUNS_PLOTTED:]


def plot(scenario: str) -> Path | str:
    """A PNG of the last runs, or the reason there is none (matplotlib is optional)."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # no display on servers and in CI
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib not installed: no plot (pip install matplotlib)"
    runs = _load(scenario)
    if not runs:
        return "no runs to plot"
    labels = [f"{r['db']} n={r['n']} c={r['concurrency']}\n{r['when'][5:16]}" for r in runs]
    latency = (runs[-1].get("latencies") or LATENCIES)[-1]
    fig, (left, right) = plt.subplots(1, 2, figsize=(max(8.0, 1.6 * len(runs) + 4), 4.5))
    _bars(left, labels, runs, lambda s: s.get("throughput_per_s"), "throughput (/s)")
    _bars(
        right,
        labels,
        runs,
        lambda s: s.get("latency_ms", {}).get(latency, {}).get("p95"),
        f"{latency} p95 (ms)",
    )
    fig.suptitle(f"{scenario}: ours, mirror with our activities, bare (last {len(runs)} runs)")
    fig.tight_layout()
    path = RESULTS / f"{scenario}.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _bars(
    ax: Any, labels: Sequence[str], runs: list[dict[str, Any]], pick: Any, title: str
) -> None:
    xs = range(len(runs))
    width = 0.27
    for offset, side in zip((-width, 0.0, width), SIDES, strict=True):
        values = [(pick(r[side]) if r.get(side) else None) or 0.0 for r in runs]
        if not any(values):
            continue
        ax.bar([x + offset for x in xs], values, width, label=side)
    ax.set_xticks(list(xs), labels, fontsize=7)
    ax.set_title(title)
    ax.legend()
