"""The order of a run's phases and how two phases of one side add up."""

from __future__ import annotations

from bench.__main__ import _parser, _sides, phase_order
from bench.harness import Phase, arrivals
from bench.meter import ProcessUsage, Usage
from bench.scenarios import SCENARIOS

SIDES = ["ours", "mirror", "bare"]


def test_the_phases_alternate_so_no_side_is_always_first() -> None:
    assert phase_order(SIDES, 1) == ["ours", "mirror", "bare"]
    assert phase_order(SIDES, 2) == ["ours", "mirror", "bare", "bare", "mirror", "ours"]
    assert phase_order(["ours", "bare"], 3) == ["ours", "bare", "bare", "ours", "ours", "bare"]
    assert phase_order(["bare"], 2) == ["bare", "bare"]


def _phase(n: int, wall: float, cpu: float, rss: float, lat: list[float], runs: float) -> Phase:
    usage = Usage(
        driver=ProcessUsage(cpu_s=cpu, peak_rss_mb=rss, peak_rss_scope="phase"),
        workers=ProcessUsage(cpu_s=2 * cpu, peak_rss_mb=rss, peak_rss_scope="phase", rss_mb=rss),
        server_cpu_s=None,
    )
    return Phase(
        n=n,
        concurrency=5,
        wall_s=wall,
        failures=0,
        first_failure=None,
        latencies_s={"report": lat},
        events_per_workflow=10.0,
        usage=usage,
        extra={"runs": runs},
        actions_per_workflow=runs,
        actions_by_kind={"timers": runs},
    )


def test_two_phases_of_a_side_add_up_as_one() -> None:
    both = _phase(10, 2.0, 1.0, 100, [0.1], 3).then(_phase(30, 2.0, 3.0, 80, [0.2, 0.3], 5))
    assert (both.n, both.wall_s, both.throughput) == (40, 4.0, 10.0)
    assert both.latencies_s == {"report": [0.1, 0.2, 0.3]}
    assert both.usage.driver.cpu_s == 4.0 and both.usage.driver.peak_rss_mb == 100
    assert both.usage.workers is not None and both.usage.workers.rss_mb == 80
    assert both.usage.server_cpu_s is None  # unknown in either phase: unknown
    assert both.extra == {"runs": 4.0} and both.events_per_workflow == 10.0
    assert both.actions_per_workflow == 4.0 and both.actions_by_kind == {"timers": 4.0}


def test_open_loop_arrivals_are_a_seeded_poisson_process() -> None:
    moments = arrivals(2000, rate=50.0)
    assert moments[0] == 0.0
    assert all(b > a for a, b in zip(moments, moments[1:], strict=False))
    assert moments == arrivals(2000, rate=50.0)  # the same seed, the same arrivals
    # 1999 gaps of mean 1/50 s: within 10 % of 40 s (the spread of the mean is about 2 %).
    assert 36.0 < moments[-1] < 44.0


def test_the_api_side_runs_only_when_asked_and_where_a_scenario_has_it() -> None:
    parser = _parser()
    assert parser.parse_args(["registration"]).side == ("ours", "mirror", "bare")
    both = parser.parse_args(["registration", "--side", "api,ours"]).side
    assert both == ("ours", "api")  # a round's order, whatever the given one
    assert _sides(SCENARIOS["registration"], both) == ["ours", "api"]
    assert _sides(SCENARIOS["billing"], both) == ["ours"]  # billing has no api side
