"""The incident watches its operator ticket with one long-running activity that the server
retries every ``poll_interval`` while nothing changes: a quiet day costs the history next to
nothing, a change at the DSO still reaches the reporters, and a DSO that is down for hours
only delays the news."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from ebok.models import outage as m
from ebok.settings import Settings
from ebok.store.db import Store
from entrypoints.devsmtp import DevSmtpServer
from facade.client import EbokClient
from tests.conftest import make_settings, worker_for
from tests.timeskip import outcome
from tests.workflows.outage_world import World, an_area, incident_history_events
from tests.workflows.test_outage import incident_of, subjects

# Polling every 10 minutes cost a quiet 25 h incident ~1,700 events; the watch needs a few
# dozen (its start, a re-arm every few hours, the acknowledgement, the legal clock).
QUIET_DAY_EVENTS = 200


@pytest.fixture
def settings(db_url: str, smtpd: DevSmtpServer) -> Settings:
    return make_settings(
        db_url,
        smtpd.port,
        outage_reopen_grace=timedelta(hours=1),
        outage_confirm_delay=timedelta(seconds=5),
        execution_timeout=timedelta(days=4),
    )


@pytest.fixture
def world(store: Store, skipping_env: WorkflowEnvironment, settings: Settings) -> World:
    w = World(store)
    w.ebok = EbokClient(skipping_env.client, store, settings)
    return w


async def _watches(env: WorkflowEnvironment, incident_id: str) -> list[tuple[str | None, str]]:
    """Each ``outage.watch_ticket`` activity of the incident: the DSO state it started from
    (``None``: nothing known yet) and how it ended (``running`` if it has not)."""
    history = await env.client.get_workflow_handle(incident_id).fetch_history()
    known: dict[int, str | None] = {}  # by the id of the scheduling event
    ended: dict[int, str] = {}
    for e in history.events:
        scheduled = e.activity_task_scheduled_event_attributes
        if scheduled.activity_type.name == m.WATCH_TICKET:
            req = m.WatchRequest.model_validate_json(scheduled.input.payloads[0].data)
            known[e.event_id] = req.known.state.value if req.known else None
        for attrs in (
            e.activity_task_completed_event_attributes,
            e.activity_task_failed_event_attributes,
            e.activity_task_timed_out_event_attributes,
            e.activity_task_canceled_event_attributes,
        ):
            if attrs.scheduled_event_id in known:
                ended[attrs.scheduled_event_id] = EventType.Name(e.event_type).split("_")[-1]
    return [(state, ended.get(event_id, "running")) for event_id, state in known.items()]


async def test_a_quiet_day_costs_the_history_little(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    world: World,
) -> None:
    (point,) = await world.points(an_area())
    assert world.ebok is not None
    async with worker_for(skipping_env.client, settings, store, operator=world.operator):
        accepted = await world.ebok.report_outage(point.ppe, "Brak prądu", email=point.email)
        incident = await incident_of(world.ebok, accepted.report_id)
        reference = incident.reference or ""
        await smtpd.wait_for(1)
        await world.simulation.acknowledge(reference)  # by the webhook: the watch re-arms
        await skipping_env.sleep(timedelta(hours=25))
        quiet = sum(await incident_history_events(skipping_env.client, incident.incident_id))
        status = await world.ebok.incident_status(incident.incident_id)
        assert status.phase is m.Phase.ACKNOWLEDGED and status.entitled
        watches = await _watches(skipping_env, incident.incident_id)
        await world.clock.sync(skipping_env)
        await world.simulation.restore(reference)
        done = await outcome(skipping_env, incident.incident_id, m.IncidentStatus)
        total = sum(await incident_history_events(skipping_env.client, incident.incident_id))
    print(f"\nquiet 25 h incident: {quiet} events; {total} at its end", flush=True)
    assert quiet < QUIET_DAY_EVENTS, quiet
    assert done.phase is m.Phase.RESTORED and done.entitled
    # Once the acknowledgement was known (by the webhook, or by the watch if it looked first)
    # the watch asked from it, and a quiet day brought nothing back: each span ended as the
    # last "Unchanged" of its retries.
    after_ack = [ended for known, ended in watches if known == "acknowledged"]
    assert len(after_ack) >= 4 and "COMPLETED" not in after_ack, watches
    assert [ended for _, ended in watches].count("COMPLETED") <= 2, watches
    got = subjects(smtpd.messages, point.email)
    assert sum(s.startswith("Stoen Operator przyjął") for s in got) == 1
    assert got[-1] == f"Zasilanie przywrócone (PPE {point.ppe})"


async def test_a_change_at_the_operator_is_found_by_the_watch(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    world: World,
) -> None:
    world.simulation.on_status = None  # no webhook: only the watch can learn anything
    (point,) = await world.points(an_area())
    assert world.ebok is not None
    poll = settings.outage_poll_interval
    async with worker_for(skipping_env.client, settings, store, operator=world.operator):
        accepted = await world.ebok.report_outage(point.ppe, "Brak prądu", email=point.email)
        incident = await incident_of(world.ebok, accepted.report_id)
        reference = incident.reference or ""
        await smtpd.wait_for(1)
        await skipping_env.sleep(poll * 2)
        await world.clock.sync(skipping_env)
        await world.simulation.acknowledge(reference)
        eta = world.clock() + timedelta(hours=3)
        await world.simulation.set_expected_restoration(reference, eta)
        await skipping_env.sleep(poll + timedelta(minutes=1))
        await smtpd.wait_for(2)
        status = await world.ebok.incident_status(incident.incident_id)
        assert status.phase is m.Phase.ACKNOWLEDGED and status.eta == eta
        await world.clock.sync(skipping_env)
        await world.simulation.restore(reference)
        done = await outcome(skipping_env, incident.incident_id, m.IncidentStatus)
    assert done.phase is m.Phase.RESTORED and not done.entitled
    got = subjects(smtpd.messages, point.email)
    assert got[0].startswith("Przyjęliśmy zgłoszenie awarii")
    assert sum(s.startswith("Stoen Operator przyjął") for s in got) == 1
    assert got[-1] == f"Zasilanie przywrócone (PPE {point.ppe})"
    assert len(got) == 3  # the acknowledgement and its ETA went in one mail


async def test_the_watch_outlasts_an_operator_outage(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    world: World,
) -> None:
    world.simulation.on_status = None
    (point,) = await world.points(an_area())
    assert world.ebok is not None
    poll = settings.outage_poll_interval
    async with worker_for(skipping_env.client, settings, store, operator=world.operator):
        accepted = await world.ebok.report_outage(point.ppe, "Brak prądu", email=point.email)
        incident = await incident_of(world.ebok, accepted.report_id)
        reference = incident.reference or ""
        await smtpd.wait_for(1)
        world.simulation.faults.down = True
        await world.simulation.acknowledge(reference)  # unseen: every look at the DSO fails
        calls = world.operator.calls
        await skipping_env.sleep(timedelta(hours=9))  # longer than one watch may run
        assert world.operator.calls > calls + 9 * 60 // (poll.total_seconds() // 60) // 2
        status = await world.ebok.incident_status(incident.incident_id)
        assert status.phase is m.Phase.REPORTED
        world.simulation.faults.down = False
        await skipping_env.sleep(poll + timedelta(minutes=1))
        status = await world.ebok.incident_status(incident.incident_id)
        assert status.phase is m.Phase.ACKNOWLEDGED
        await world.clock.sync(skipping_env)
        await world.simulation.restore(reference)
        done = await outcome(skipping_env, incident.incident_id, m.IncidentStatus)
        events = sum(await incident_history_events(skipping_env.client, incident.incident_id))
    assert done.phase is m.Phase.RESTORED
    assert events < QUIET_DAY_EVENTS, events
    got = subjects(smtpd.messages, point.email)
    assert sum(s.startswith("Stoen Operator przyjął") for s in got) == 1
    assert got[-1] == f"Zasilanie przywrócone (PPE {point.ppe})"


async def test_an_eta_passed_without_news_is_checked_and_told(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    world: World,
) -> None:
    world.simulation.on_status = None
    (point,) = await world.points(an_area())
    assert world.ebok is not None
    poll = settings.outage_poll_interval
    async with worker_for(skipping_env.client, settings, store, operator=world.operator):
        accepted = await world.ebok.report_outage(point.ppe, "Brak prądu", email=point.email)
        incident = await incident_of(world.ebok, accepted.report_id)
        reference = incident.reference or ""
        await smtpd.wait_for(1)
        await world.clock.sync(skipping_env)
        await world.simulation.acknowledge(reference)
        await world.simulation.set_expected_restoration(reference, world.clock() + poll * 3)
        await skipping_env.sleep(poll * 5)  # the watch tells the ETA; then it passes quietly
        await smtpd.wait_for(3)
        history = await skipping_env.client.get_workflow_handle(
            incident.incident_id
        ).fetch_history()
        await world.clock.sync(skipping_env)
        await world.simulation.set_expected_restoration(reference, world.clock() + poll * 3)
        await skipping_env.sleep(poll + timedelta(minutes=1))
        await smtpd.wait_for(4)
        await world.clock.sync(skipping_env)
        await world.simulation.restore(reference)
        done = await outcome(skipping_env, incident.incident_id, m.IncidentStatus)
    checks = [
        e
        for e in history.events
        if e.activity_task_scheduled_event_attributes.activity_type.name == m.TICKET_STATUS
    ]
    assert len(checks) == 1  # one look at the ticket when the ETA passed
    assert done.phase is m.Phase.RESTORED
    got = subjects(smtpd.messages, point.email)
    assert got[1].startswith("Stoen Operator przyjął")
    assert got[2] == f"Usuwanie awarii trwa dłużej (PPE {point.ppe})"
    assert got[3].startswith("Nowy przewidywany czas")
    assert got[-1] == f"Zasilanie przywrócone (PPE {point.ppe})"
