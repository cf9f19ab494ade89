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
LATENCIES = ("start", "activate")  # for lines written before scenarios named theirs
RUNS_PLOTTED = 8


def _per_unit_ms(cpu_s: float | None, n: int) -> float | None:
    return 1000 * cpu_s / n if cpu_s is not None and n else None


def _phase(p: Phase) -> dict[str, Any]:
    driver, workers = p.usage.driver, p.usage.workers
    return {
        "throughput_per_s": p.throughput,
        "wall_s": p.wall_s,
        "failures": p.failures,
        "first_failure": p.first_failure,
        "latency_ms": {name: p.percentiles_ms(name) for name in sorted(p.latencies_s)},
        "events_per_workflow": p.events_per_workflow,
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
    unit = line["unit"][:-1]
    rows: list[tuple[str, float | None, float | None, int]] = [
        (f"throughput ({line['unit']}/s)", o.get("throughput_per_s"), b.get("throughput_per_s"), 1)
    ]
    for name in line.get("latencies") or LATENCIES:
        for q in ("p50", "p95", "p99"):
            rows.append(
                (
                    f"{name} {q} (ms)",
                    o.get("latency_ms", {}).get(name, {}).get(q),
                    b.get("latency_ms", {}).get(name, {}).get(q),
                    0,
                )
            )

    # The scenario's own figures (its finish step), in the order it gave them.
    extra_o, extra_b = o.get("extra") or {}, b.get("extra") or {}
    for name in dict.fromkeys([*extra_o, *extra_b]):
        rows.append((name, extra_o.get(name), extra_b.get(name), 1))

    def both(key: str) -> tuple[float | None, float | None]:
        return o.get(key), b.get(key)

    rows += [
        ("history events/workflow", *both("events_per_workflow"), 1),
        ("worker CPU (s)", *both("worker_cpu_s"), 1),
        (f"worker CPU ms/{unit}", *both("worker_cpu_ms_per_unit"), 1),
        ("worker peak RSS (MB)", *both("worker_peak_rss_mb"), 0),
        ("worker RSS at end (MB)", *both("worker_rss_end_mb"), 0),
        ("driver CPU (s)", *both("driver_cpu_s"), 1),
        (f"driver CPU ms/{unit}", *both("driver_cpu_ms_per_unit"), 1),
        ("driver peak RSS (MB)", *both("driver_peak_rss_mb"), 0),
        ("dev-server CPU (s)", *both("server_cpu_s"), 1),
        ("failures", *both("failures"), 0),
    ]
    head = (
        f"scenario {line['scenario']}  db {line['db']}  n {line['n']}  "
        f"concurrency {line['concurrency']}  temporal: {line['temporal']}"
    )
    order = line.get("order") or []
    if len(order) > 2:
        head += f"  phases {', '.join(order)}"
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
        "worker = the side's worker child process (ours: python worker.py; bare: "
        "python -m bench.bare_worker); driver = the bench process (iterations, facade, SMTP "
        "server); dev-server = the Temporal child process (- on an external cluster); "
        f"peak RSS per {o.get('peak_rss_scope') or b.get('peak_rss_scope')}."
    )
    for side, figures in (("ours", o), ("bare", b)):
        if figures.get("worker_in_process"):
            out.append(f"{side}: worker inside the bench process (its CPU is in driver CPU)")
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
