"""The legal limits on the time-skipping server, just under and just over each: an unplanned
interruption restored a minute before or after 24 h, planned work a minute before or after
16 h; and each restored incident counted towards its PPEs' year."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from ebok.models import outage as m
from ebok.settings import Settings
from ebok.store.db import Store
from entrypoints.devsmtp import DevSmtpServer
from tests.conftest import worker_for
from tests.mailbox import addressed_to, body
from tests.timeskip import outcome
from tests.workflows.outage_world import World, an_area
from tests.workflows.test_outage import incident_of, settings, world  # noqa: F401 (fixtures)

MINUTE = timedelta(minutes=1)


def whole_seconds(span: timedelta) -> timedelta:
    """The yearly totals keep whole seconds."""
    return timedelta(seconds=int(span.total_seconds()))


@pytest.mark.parametrize("over", [False, True], ids=["just_under", "just_over"])
async def test_unplanned_limit_edges(
    skipping_env: WorkflowEnvironment,
    settings: Settings,  # noqa: F811
    store: Store,
    smtpd: DevSmtpServer,
    world: World,  # noqa: F811
    over: bool,
) -> None:
    (point,) = await world.points(an_area())
    assert world.ebok is not None
    async with worker_for(skipping_env.client, settings, store, operator=world.operator):
        accepted = await world.ebok.report_outage(point.ppe, "Brak prądu", email=point.email)
        incident = await incident_of(world.ebok, accepted.report_id)
        assert incident.started_at is not None
        await world.simulation.acknowledge(incident.reference or "")
        limit = incident.started_at + timedelta(hours=24)
        now = await skipping_env.get_current_time()
        await skipping_env.sleep(limit - now + (MINUTE if over else -MINUTE))
        await world.clock.sync(skipping_env)
        await world.simulation.restore(incident.reference or "")
        done = await outcome(skipping_env, incident.incident_id, m.IncidentStatus)
    assert done.restored_at is not None
    assert (done.restored_at > limit) is over and done.entitled is over
    async with store.begin() as uow:
        entitlements = await uow.outages.entitlements(incident_id=incident.incident_id)
        year = await uow.outages.year_totals(point.ppe, done.restored_at.year)
    assert [e.ppe for e in entitlements] == ([point.ppe] if over else [])
    assert year.unplanned == whole_seconds(done.restored_at - incident.started_at)
    assert not year.planned
    last = addressed_to(smtpd.messages, point.email)[-1]
    assert str(last["Subject"]).startswith("Zasilanie przywrócone")
    assert ("bonifikat" in body(last)) is over


@pytest.mark.parametrize("over", [False, True], ids=["just_under", "just_over"])
async def test_planned_limit_edges(
    skipping_env: WorkflowEnvironment,
    settings: Settings,  # noqa: F811
    store: Store,
    smtpd: DevSmtpServer,
    world: World,  # noqa: F811
    over: bool,
) -> None:
    area = an_area()
    (point,) = await world.points(area)
    start = world.clock()
    reference = await world.simulation.plan_work(area, start, start + timedelta(hours=20))
    assert world.ebok is not None
    async with worker_for(skipping_env.client, settings, store, operator=world.operator):
        accepted = await world.ebok.report_outage(point.ppe, "Brak prądu", email=point.email)
        incident = await incident_of(world.ebok, accepted.report_id)
        assert incident.kind is m.Kind.PLANNED and incident.started_at == start
        limit = start + timedelta(hours=16)
        now = await skipping_env.get_current_time()
        await skipping_env.sleep(limit - now + (MINUTE if over else -MINUTE))
        await world.clock.sync(skipping_env)
        await world.simulation.restore(reference)  # the crew finished before the window's end
        done = await outcome(skipping_env, incident.incident_id, m.IncidentStatus)
    assert done.restored_at is not None and (done.restored_at > limit) is over
    assert done.entitled is over
    async with store.begin() as uow:
        year = await uow.outages.year_totals(point.ppe, done.restored_at.year)
    assert year.planned == whole_seconds(done.restored_at - start) and not year.unplanned
    subjects = [str(x["Subject"]) for x in addressed_to(smtpd.messages, point.email)]
    assert any("bonifikata" in s for s in subjects) is over


async def test_the_second_incident_of_the_year_crosses_the_yearly_limit(
    skipping_env: WorkflowEnvironment,
    settings: Settings,  # noqa: F811
    store: Store,
    smtpd: DevSmtpServer,
    world: World,  # noqa: F811
) -> None:
    area = an_area()
    home, neighbour = await world.points(area, 2)
    assert world.ebok is not None
    async with worker_for(skipping_env.client, settings, store, operator=world.operator):
        # The first incident of the year: 40 h unplanned for ``home`` only (its own failure).
        accepted = await world.ebok.report_outage(home.ppe, "Brak prądu", email=home.email)
        first = await incident_of(world.ebok, accepted.report_id)
        await world.simulation.acknowledge(first.reference or "")
        await skipping_env.sleep(timedelta(hours=40))
        await world.clock.sync(skipping_env)
        await world.simulation.restore(first.reference or "")
        await outcome(skipping_env, first.incident_id, m.IncidentStatus)
        # The second, a failure the DSO knows (its start on the server's skipped clock, where
        # the facade's would be real time): 10 h for both; ``home`` passes the year's 48 h
        # with it, the neighbour does not.
        await world.clock.sync(skipping_env)
        reference = await world.simulation.start_storm(area)
        again = await world.ebok.report_outage(home.ppe, "Znowu brak", email=home.email)
        second = await incident_of(world.ebok, again.report_id, skipping_env)
        await world.ebok.report_outage(neighbour.ppe, "Brak prądu", email=neighbour.email)
        await skipping_env.sleep(timedelta(hours=10))
        await world.clock.sync(skipping_env)
        await world.simulation.restore(reference)
        done = await outcome(skipping_env, second.incident_id, m.IncidentStatus)
    assert second.incident_id != first.incident_id and not done.entitled  # not over 24 h
    async with store.begin() as uow:
        entitled = await uow.outages.entitlements(incident_id=second.incident_id)
        year = await uow.outages.year_totals(home.ppe, done.restored_at.year)  # type: ignore[union-attr]
    assert [e.ppe for e in entitled] == [home.ppe]
    assert timedelta(hours=50) <= year.unplanned < timedelta(hours=51)
    home_last = addressed_to(smtpd.messages, home.email)[-1]
    assert str(home_last["Subject"]).startswith("Zasilanie przywrócone")
    assert "w tym roku trwały łącznie dłużej niż dopuszczalne 48 h" in body(home_last)
    neighbour_last = addressed_to(smtpd.messages, neighbour.email)[-1]
    assert "bonifikat" not in body(neighbour_last)
