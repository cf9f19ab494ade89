"""The table on stdout, the JSON line in results/results.jsonl, and the plot of recent runs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.harness import Phase

__all__ = ["RESULTS", "append", "plot", "record", "table"]

RESULTS = Path(__file__).with_name("results")
JSONL = RESULTS / "results.jsonl"
LATENCIES = ("start", "activate")  # the round trips a customer waits for
RUNS_PLOTTED = 8


def _phase(p: Phase) -> dict[str, Any]:
    return {
        "throughput_per_s": p.throughput,
        "wall_s": p.wall_s,
        "failures": p.failures,
        "first_failure": p.first_failure,
        "latency_ms": {name: p.percentiles_ms(name) for name in sorted(p.latencies_s)},
        "events_per_workflow": p.events_per_workflow,
        "cpu_s": p.usage.cpu_s,
        "cpu_ms_per_unit": 1000 * p.usage.cpu_s / p.n if p.n else None,
        "server_cpu_s": p.usage.children_cpu_s,
        "peak_rss_mb": p.usage.peak_rss_mb,
        "peak_rss_scope": p.usage.peak_rss_scope,
    }


def record(meta: dict[str, Any], ours: Phase | None, bare: Phase | None) -> dict[str, Any]:
    line: dict[str, Any] = dict(meta)
    line["ours"] = _phase(ours) if ours else None
    line["bare"] = _phase(bare) if bare else None
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


def table(line: dict[str, Any]) -> str:
    o: dict[str, Any] = line["ours"] or {}
    b: dict[str, Any] = line["bare"] or {}
    rows: list[tuple[str, float | None, float | None, int]] = [
        (f"throughput ({line['unit']}/s)", o.get("throughput_per_s"), b.get("throughput_per_s"), 1)
    ]
    for name in LATENCIES:
        for q in ("p50", "p95", "p99"):
            rows.append(
                (
                    f"{name} {q} (ms)",
                    o.get("latency_ms", {}).get(name, {}).get(q),
                    b.get("latency_ms", {}).get(name, {}).get(q),
                    0,
                )
            )
    rows += [
        ("history events/workflow", o.get("events_per_workflow"), b.get("events_per_workflow"), 1),
        ("process CPU (s)", o.get("cpu_s"), b.get("cpu_s"), 1),
        (
            f"process CPU ms/{line['unit'][:-1]}",
            o.get("cpu_ms_per_unit"),
            b.get("cpu_ms_per_unit"),
            1,
        ),
        ("dev-server CPU (s)", o.get("server_cpu_s"), b.get("server_cpu_s"), 1),
        ("peak RSS (MB)", o.get("peak_rss_mb"), b.get("peak_rss_mb"), 0),
        ("failures", o.get("failures"), b.get("failures"), 0),
    ]
    head = (
        f"scenario {line['scenario']}  db {line['db']}  n {line['n']}  "
        f"concurrency {line['concurrency']}  temporal: {line['temporal']}"
    )
    if line.get("loadavg_1m_at_start") is not None:
        head += f"  load {line['loadavg_1m_at_start']:.1f} on {line.get('cpus')} CPUs at start"
    width = max(len(r[0]) for r in rows)
    out = [head, f"{'':{width}}  {'ours':>10}  {'bare':>10}  {'ours/bare':>9}"]
    for label, ours, bare, digits in rows:
        out.append(
            f"{label:{width}}  {_num(ours, digits):>10}  {_num(bare, digits):>10}  "
            f"{_ratio(ours, bare):>9}"
        )
    out.append(
        "process = driver + worker + SMTP server, all in this one Python process; "
        "dev-server CPU = the Temporal child process (blank on an external cluster); "
        f"peak RSS per {o.get('peak_rss_scope') or b.get('peak_rss_scope')}."
    )
    for side, figures in (("ours", o), ("bare", b)):
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
    fig, (left, right) = plt.subplots(1, 2, figsize=(max(8.0, 1.6 * len(runs) + 4), 4.5))
    _bars(left, labels, runs, lambda s: s.get("throughput_per_s"), "throughput (/s)")
    _bars(
        right,
        labels,
        runs,
        lambda s: s.get("latency_ms", {}).get("activate", {}).get("p95"),
        "activate p95 (ms)",
    )
    fig.suptitle(f"{scenario}: ours vs bare Temporal (last {len(runs)} runs)")
    fig.tight_layout()
    path = RESULTS / f"{scenario}.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _bars(
    ax: Any, labels: Sequence[str], runs: list[dict[str, Any]], pick: Any, title: str
) -> None:
    xs = range(len(runs))
    width = 0.4
    for offset, side in ((-width / 2, "ours"), (width / 2, "bare")):
        values = [(pick(r[side]) if r.get(side) else None) or 0.0 for r in runs]
        ax.bar([x + offset for x in xs], values, width, label=side)
    ax.set_xticks(list(xs), labels, fontsize=7)
    ax.set_title(title)
    ax.legend()
