"""The sandbox DSO's outages: areas, planned work, storms, tickets, pushes and the state file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.operator.base import (
    IncidentState,
    IncidentStatus,
    OperatorRejected,
    OperatorUnavailable,
    OutageKind,
    TicketRequest,
)
from adapters.operator.incidents import AREAS, SimulationError, area_for
from adapters.operator.sandbox import SandboxOperator, load_registry
from adapters.operator.simulation import DsoSimulation, Faults
from adapters.testing import PPE_CONFIRMED, PPE_UNKNOWN, sample_suspension
from ebok.settings import Settings

T0 = datetime(2026, 7, 1, 14, 0, tzinfo=UTC)
MOKOTOW_PPES = ("590380100001001378", "590380100001002740")  # the bundled registry's


class Clock:
    """The DSO's time, moved by the test."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> None:
        self.now += by


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def pushed() -> list[IncidentStatus]:
    return []


@pytest.fixture
def operator(clock: Clock, pushed: list[IncidentStatus]) -> SandboxOperator:
    async def hook(status: IncidentStatus) -> None:
        pushed.append(status)

    simulation = DsoSimulation(clock=clock, on_status=hook)
    return SandboxOperator(load_registry(), simulation=simulation)


def ticket(operator: SandboxOperator, key: str, ppe: str = MOKOTOW_PPES[0]) -> TicketRequest:
    return TicketRequest(key, ppe, operator.area_of(ppe), T0, "no power in the flat")


async def test_areas_come_from_the_registry_or_the_ppe(operator: SandboxOperator) -> None:
    for ppe in MOKOTOW_PPES:
        assert (await operator.lookup_outage(ppe)).area == "warszawa-mokotow"
    derived = await operator.lookup_outage(PPE_UNKNOWN)
    assert derived.area == area_for(PPE_UNKNOWN) in AREAS and derived.outage is None
    assert len({area_for(f"59038010000{n:07d}") for n in range(200)}) > len(AREAS) // 2


async def test_storm_is_seen_in_its_area_only_until_restored(
    operator: SandboxOperator, clock: Clock, pushed: list[IncidentStatus]
) -> None:
    eta = T0 + timedelta(hours=3)
    ref = await operator.simulation.start_storm("warszawa-mokotow", expected_restoration=eta)
    assert await operator.simulation.start_storm("warszawa-mokotow") == ref  # already open
    for ppe in MOKOTOW_PPES:
        outage = (await operator.lookup_outage(ppe)).outage
        assert outage is not None and outage.reference == ref
        assert (outage.kind, outage.state) == (OutageKind.UNPLANNED, IncidentState.OPEN)
        assert (outage.started_at, outage.expected_restoration) == (T0, eta)
    assert (await operator.lookup_outage("590380100001004119")).outage is None  # Wola

    clock.advance(timedelta(minutes=10))
    await operator.simulation.acknowledge(ref)
    await operator.simulation.dispatch_crew(ref)
    later = T0 + timedelta(hours=5)
    await operator.simulation.set_expected_restoration(ref, later)
    clock.advance(timedelta(hours=1))
    await operator.simulation.restore(ref)
    assert (await operator.lookup_outage(MOKOTOW_PPES[0])).outage is None

    assert [(s.state, s.changed_at) for s in pushed] == [
        (IncidentState.OPEN, T0),
        (IncidentState.ACKNOWLEDGED, T0 + timedelta(minutes=10)),
        (IncidentState.CREW_DISPATCHED, T0 + timedelta(minutes=10)),
        (IncidentState.CREW_DISPATCHED, T0 + timedelta(minutes=10)),
        (IncidentState.RESTORED, T0 + timedelta(minutes=70)),
    ]
    final = await operator.ticket_status(ref)
    assert final == pushed[-1]
    assert final.acknowledged_at == T0 + timedelta(minutes=10)
    assert (final.expected_restoration, final.restored_at) == (later, clock.now)


async def test_commands_refuse_nonsense(operator: SandboxOperator) -> None:
    ref = await operator.simulation.start_storm("warszawa-wola")
    await operator.simulation.dispatch_crew(ref)
    status = await operator.simulation.dispatch_crew(ref)  # again: no change, no error
    assert status.state is IncidentState.CREW_DISPATCHED and status.acknowledged_at == T0
    with pytest.raises(SimulationError, match="cannot become acknowledged"):
        await operator.simulation.acknowledge(ref)
    await operator.simulation.cancel(ref, "customer's own fuse")
    with pytest.raises(SimulationError, match="cancelled"):
        await operator.simulation.restore(ref)
    with pytest.raises(SimulationError, match="cancelled"):
        await operator.simulation.set_expected_restoration(ref, T0)
    with pytest.raises(SimulationError, match="no incident"):
        await operator.simulation.acknowledge("SBX-I-999999")
    with pytest.raises(SimulationError, match="end after"):
        await operator.simulation.plan_work("warszawa-wola", T0, T0)
    assert (await operator.ticket_status(ref)).note == "customer's own fuse"


async def test_planned_work_covers_its_window_and_ends_itself(
    operator: SandboxOperator, clock: Clock, pushed: list[IncidentStatus]
) -> None:
    start, end = T0 + timedelta(hours=1), T0 + timedelta(hours=4)
    ref = await operator.simulation.plan_work("warszawa-mokotow", start, end, "transformer")
    assert (await operator.lookup_outage(MOKOTOW_PPES[0])).outage is None  # not yet
    clock.advance(timedelta(hours=2))
    outage = (await operator.lookup_outage(MOKOTOW_PPES[0])).outage
    assert outage is not None and outage.kind is OutageKind.PLANNED
    assert (outage.started_at, outage.window_end) == (start, end)
    # A storm during planned work is what a lookup reports first.
    storm = await operator.simulation.start_storm("warszawa-mokotow")
    assert (await operator.lookup_outage(MOKOTOW_PPES[1])).outage.reference == storm  # type: ignore[union-attr]
    await operator.simulation.restore(storm)
    clock.advance(timedelta(hours=2))
    assert (await operator.lookup_outage(MOKOTOW_PPES[0])).outage is None
    status = await operator.ticket_status(ref)
    assert (status.state, status.restored_at) == (IncidentState.RESTORED, end)
    assert pushed[-1] == status


async def test_ticket_creates_an_incident_once_per_key(
    operator: SandboxOperator, pushed: list[IncidentStatus]
) -> None:
    first = await operator.open_ticket(ticket(operator, "inc-1"))
    assert first.state is IncidentState.OPEN and first.key == "inc-1"
    assert await operator.open_ticket(ticket(operator, "inc-1")) == first
    neighbour = await operator.open_ticket(ticket(operator, "inc-2", MOKOTOW_PPES[1]))
    assert neighbour.reference == first.reference  # one outage, one incident
    assert [s.reference for s in pushed] == [first.reference]  # created once
    outage = (await operator.lookup_outage(MOKOTOW_PPES[0])).outage
    assert outage is not None and outage.reference == first.reference
    incident = operator.simulation.incidents[first.reference]
    assert incident.ticket_keys == ["inc-1", "inc-2"]
    await operator.simulation.restore(first.reference)
    again = await operator.open_ticket(ticket(operator, "inc-3"))
    assert again.reference != first.reference  # a new failure after the restoration
    assert (await operator.open_ticket(ticket(operator, "inc-1"))).state is IncidentState.RESTORED


async def test_ticket_during_a_storm_joins_it(operator: SandboxOperator) -> None:
    storm = await operator.simulation.start_storm("warszawa-mokotow")
    await operator.simulation.acknowledge(storm)
    joined = await operator.open_ticket(ticket(operator, "inc-9"))
    assert (joined.reference, joined.state) == (storm, IncidentState.ACKNOWLEDGED)


async def test_port_calls_refuse_bad_requests(operator: SandboxOperator) -> None:
    wrong_area = TicketRequest("inc-1", MOKOTOW_PPES[0], "warszawa-wola", T0, "")
    with pytest.raises(OperatorRejected, match="warszawa-mokotow") as info:
        await operator.open_ticket(wrong_area)
    assert info.value.status_code == 422
    with pytest.raises(OperatorRejected) as unknown:
        await operator.ticket_status("SBX-I-424242")
    assert unknown.value.status_code == 404
    with pytest.raises(OperatorRejected, match="check digit"):
        await operator.lookup_outage("590380100009000010")
    assert operator.simulation.incidents == {}
    with pytest.raises(ValueError, match="timezone-aware"):
        TicketRequest("k", MOKOTOW_PPES[0], "warszawa-mokotow", datetime(2026, 7, 1), "")


async def test_faults_hit_outage_calls(operator: SandboxOperator) -> None:
    operator.down = True
    with pytest.raises(OperatorUnavailable, match="down"):
        await operator.lookup_outage(MOKOTOW_PPES[0])
    with pytest.raises(OperatorUnavailable, match="down"):
        await operator.open_ticket(ticket(operator, "inc-1"))
    assert operator.simulation.incidents == {}
    operator.down = False
    operator.fail_next(1)
    with pytest.raises(OperatorUnavailable, match="injected"):
        await operator.ticket_status("SBX-I-000001")
    assert (await operator.lookup_outage(MOKOTOW_PPES[0])).outage is None


async def test_failing_hook_does_not_fail_a_port_call_but_fails_a_command(
    operator: SandboxOperator,
) -> None:
    async def broken(status: IncidentStatus) -> None:
        raise RuntimeError("webhook receiver down")

    operator.simulation.on_status = broken
    opened = await operator.open_ticket(ticket(operator, "inc-1"))
    assert opened.reference in operator.simulation.incidents
    with pytest.raises(RuntimeError, match="receiver down"):
        await operator.simulation.acknowledge(opened.reference)
    assert (await operator.ticket_status(opened.reference)).state is IncidentState.ACKNOWLEDGED


async def test_state_file_shares_the_dso_between_processes(tmp_path: Path) -> None:
    path = tmp_path / "dso.json"
    settings = Settings(operator_sandbox_state=path, operator_sandbox_latency=timedelta(0))
    worker_side = SandboxOperator.from_settings(settings)
    cli_side = DsoSimulation(path=path)  # as another process would open it
    storm = await cli_side.start_storm("warszawa-mokotow", note="storm")
    outage = (await worker_side.lookup_outage(MOKOTOW_PPES[0])).outage
    assert outage is not None and outage.reference == storm

    opened = await worker_side.open_ticket(ticket(worker_side, "inc-1"))
    answer = await worker_side.request_suspension(sample_suspension(ppe=PPE_CONFIRMED))
    await cli_side.restore(storm)
    assert (await worker_side.ticket_status(opened.reference)).state is IncidentState.RESTORED

    cli_side.refresh()
    cli_side.save_faults(Faults(down=True))
    with pytest.raises(OperatorUnavailable, match="down"):
        await worker_side.lookup_outage(MOKOTOW_PPES[0])

    reopened = DsoSimulation(path=path)  # a restart keeps everything
    assert reopened.tickets == {"inc-1": storm}
    assert reopened.suspensions[answer.key].reference == answer.reference
    assert reopened.incidents[storm].note == "storm" and reopened.faults.down
    SandboxOperator.from_settings(settings)  # a worker start applies the settings' faults
    assert DsoSimulation(path=path).faults.down is False
