"""Every bench scenario runs end to end with a handful of iterations, driven as a user drives
the bench: ``python -m bench`` in a child process, read through its table and the JSON line it
writes with ``--json``. Every side completes with no failure and has its figures. (The
figures themselves come from runs with a real N, not from here; the bench's own parts have
their unit tests in ``bench/tests``.)"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted(
    p.stem for p in (ROOT / "bench" / "scenarios").glob("*.py") if p.stem != "__init__"
)
# A handful of iterations on SQLite, no JSON line appended and no plot.
SMALL = ("--warmup", "0", "--db", "sqlite", "--no-record", "--timeout", "60")


def bench(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """``python -m bench ARGS`` from the repository, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "bench", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def ran(done: subprocess.CompletedProcess[str], out: Path) -> dict[str, Any]:
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    line: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return line


def test_the_bench_offers_every_scenario_module() -> None:
    done = bench("--help", timeout=60)
    assert done.returncode == 0, done.stderr
    choices = [set(group.split(",")) for group in re.findall(r"\{([a-z,]+)\}", done.stdout)]
    assert set(SCENARIOS) in choices, done.stdout


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario_runs_on_every_side(scenario: str, tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    # Registration also runs two worker processes per side, as a deployment scales out; storm
    # measures each side twice, in turn (its customers, PPEs and incidents must not clash
    # between two phases of a side).
    more = {
        "registration": ("--workers", "2", "--verbose"),
        "storm": ("--rounds", "2"),
    }.get(scenario, ())
    done = bench(scenario, "--n", "3", "--concurrency", "3", *SMALL, "--json", str(out), *more)
    line = ran(done, out)
    sides = ["ours", "mirror", "bare"]
    rounds = 2 if scenario == "storm" else 1
    assert line["order"] == (sides + sides[::-1])[: 3 * rounds]
    assert line["n"] == 3 * rounds
    for side in sides:
        figures = line[side]
        assert figures["failures"] == 0, (side, figures["first_failure"])
        assert figures["throughput_per_s"] > 0, side
        assert figures["events_per_workflow"] > 0, side
        # Every workflow is started, so costs at least one action.
        assert figures["actions_per_workflow"] >= 1, side
        assert figures["actions_by_kind"]["workflow started"] == 1.0, side
        if scenario == "storm":  # one incident run per area in each phase
            assert figures["extra"]["incident runs"] == 3.0, side
    assert re.search(r"^throughput \(.*\)(\s+[\d.]+){3}\s+[\d.]+x\s+[\d.]+x$", done.stdout, re.M)
    assert re.search(r"^billable actions/workflow(\s+[\d.]+){3}", done.stdout, re.M)
    if scenario == "storm":
        assert "phases ours, mirror, bare, bare, mirror, ours" in done.stdout, done.stdout
    if scenario == "registration":
        assert "worker: 2 worker processes per side" in done.stdout
        pattern = r"(worker\.py|bench\.mirror_worker|bench\.bare_worker): pid (\d+) ready"
        ready = re.findall(pattern, done.stderr)
        assert sorted({name for name, _ in ready}) == [
            "bench.bare_worker",
            "bench.mirror_worker",
            "worker.py",
        ]
        assert len({pid for _, pid in ready}) == 6, ready  # two of each side, all running


def test_a_scenario_whose_mirror_keeps_state_in_its_worker_refuses_more_workers() -> None:
    done = bench("storm", "--n", "3", "--workers", "2", "--no-record", timeout=60)
    assert done.returncode == 2
    assert "--workers: storm runs one worker per side" in done.stderr
