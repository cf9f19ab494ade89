"""``python -m bench SCENARIO --n N --db sqlite|postgres``: run a scenario on our engine, on the
bare mirror's workflow code with our activities, and on bare Temporal with no-op activities;
print the table, append the JSON line, draw the plot."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import report
from bench.harness import DEFAULT_POSTGRES, Phase, measure, started
from bench.scenarios import DEFAULT_SIDES, SCENARIOS, SIDES, Scenario


def _side_list(text: str) -> tuple[str, ...]:
    if text == "all":
        return SIDES
    chosen = tuple(dict.fromkeys(name.strip() for name in text.split(",")))
    unknown = [name for name in chosen if name not in SIDES]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"not a side: {', '.join(unknown) or text!r}")
    return tuple(s for s in SIDES if s in chosen)  # a round's order, whatever the given one


SDK_CACHED_WORKFLOWS = 1000  # temporalio's Worker default, which the mirror sides keep


def _worker_line(workers: int, cached: int) -> str:
    count = "one worker process" if workers == 1 else f"{workers} worker processes"
    ours = "" if cached == SDK_CACHED_WORKFLOWS else f" (ours: {cached}, from settings)"
    return (
        f"{count} per side with the SDK defaults: 100 concurrent workflow tasks, "
        f"100 concurrent activities, {SDK_CACHED_WORKFLOWS} cached workflows{ours}, "
        "5 pollers of each kind"
    )


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("scenario", choices=sorted(SCENARIOS))
    p.add_argument("--n", type=int, default=200, help="measured iterations per side")
    p.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--concurrency", type=int, default=50, help="iterations in flight")
    p.add_argument("--warmup", type=int, default=5, help="unmeasured iterations per side first")
    p.add_argument(
        "--history-sample", type=int, default=20, help="workflows whose history is counted"
    )
    p.add_argument(
        "--timeout", type=float, default=60.0, help="seconds before one iteration counts as failed"
    )
    p.add_argument("--temporal-address", help="an existing cluster instead of a dev server")
    p.add_argument("--namespace", default="default")
    p.add_argument(
        "--postgres-url",
        default=DEFAULT_POSTGRES,
        help="server where a fresh database is created for the run and dropped after it",
    )
    p.add_argument(
        "--side",
        type=_side_list,
        default=DEFAULT_SIDES,
        metavar="all|" + ",".join(SIDES),
        help="the sides to run: ours, mirror and bare (default), all (with api, where the "
        "scenario has it: ours over the HTTP API), or some by name, comma-separated (one side, "
        "e.g. under a profiler, has no ratios)",
    )
    p.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="phases per side, in the order ours, bare, bare, ours, …; figures over all of them",
    )
    p.add_argument(
        "--bare-in-process",
        action="store_true",
        help="run the bare worker inside the bench process instead of a child process",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes per side on the same task queue, as a deployment scales out",
    )
    p.add_argument(
        "--half-saturation",
        action="store_true",
        help="latency at half load: each phase first finds the side's saturated throughput "
        "(closed loop, --concurrency), then measures --n iterations arriving at half that "
        "rate (open loop, Poisson arrivals); the table is the second",
    )
    p.add_argument(
        "--rate",
        type=float,
        help="open loop at this many arrivals a second (Poisson), instead of --concurrency",
    )
    p.add_argument("--no-record", action="store_true", help="print only: no JSON line, no plot")
    p.add_argument(
        "--json", type=Path, metavar="FILE", help="also write the run's JSON line to FILE"
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log the phases as they go")
    return p


def _commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip()


def phase_order(sides: list[str], rounds: int) -> list[str]:
    """The phases in turn: ours, mirror, bare, then bare, mirror, ours, and so on. The
    machine's speed drifts within minutes; with two rounds or more, neither side is measured
    only first or only last, so a steady drift weighs on all alike."""
    return [s for r in range(rounds) for s in (sides if r % 2 == 0 else sides[::-1])]


def _sides(scenario: Scenario, chosen: tuple[str, ...]) -> list[str]:
    return [s for s in chosen if s in ("ours", "bare") or getattr(scenario, s) is not None]


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    scenario = SCENARIOS[args.scenario]
    # Other work on the machine skews both sides; the load at the start is kept with the figures.
    load_at_start = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    phases: dict[str, Phase] = {}
    order = phase_order(_sides(scenario, args.side), args.rounds)
    async with started(
        args.db,
        args.postgres_url,
        args.temporal_address,
        args.namespace,
        args.bare_in_process,
        args.workers,
    ) as stack:
        shape = (args.n, args.concurrency, args.warmup, args.history_sample, args.timeout)
        for side in order:
            phase = await measure(stack, scenario.side(side), *shape, rate=args.rate)
            if args.half_saturation:
                rate = phase.throughput / 2
                saturated = phase.throughput
                phase = await measure(stack, scenario.side(side), *shape, rate=rate)
                phase.saturated_per_s = saturated
            earlier = phases.get(side)
            phases[side] = phase if earlier is None else earlier.then(phase)
        temporal = stack.temporal
        cached = stack.settings().worker_max_cached_workflows
    meta = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "scenario": scenario.name,
        "unit": scenario.unit,
        "latencies": list(scenario.latencies),
        "db": args.db,
        "n": args.n * args.rounds,  # per side, over its phases
        "concurrency": args.concurrency,
        "warmup": args.warmup,
        "temporal": temporal,
        "worker": _worker_line(args.workers, cached),
        "workers": args.workers,
        "commit": _commit(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "loadavg_1m_at_start": load_at_start,
        "order": order,
        "half_saturation": args.half_saturation,
        "rate": args.rate,
    }
    return report.record(meta, phases)


def main(argv: list[str] | None = None) -> None:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.rate is not None and (args.rate <= 0 or args.half_saturation):
        parser.error("--rate: a positive rate, and not with --half-saturation")
    why_one = SCENARIOS[args.scenario].one_worker_only
    if args.workers > 1 and why_one:
        parser.error(f"--workers: {args.scenario} runs one worker per side ({why_one})")
    if args.workers > 1 and args.bare_in_process:
        parser.error("--bare-in-process runs one bare worker: use it with --workers 1")
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    if args.verbose:
        logging.getLogger("bench").setLevel(logging.INFO)
    line = asyncio.run(_run(args))
    print(report.table(line))
    print(f"worker: {line['worker']}")
    if args.json is not None:
        args.json.write_text(json.dumps(line, sort_keys=True) + "\n", encoding="utf-8")
    if args.no_record:
        return
    print(f"appended to {report.append(line)}")
    drawn = report.plot(line["scenario"])
    print(f"plot: {drawn}")


if __name__ == "__main__":
    main()
