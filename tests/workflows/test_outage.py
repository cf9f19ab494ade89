"""Outage reporting end to end on the time-skipping server: real store (SQLite and
PostgreSQL), real SMTP, the sandbox DSO (its status pushes delivered as the webhook does)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from activities.mail import WARSAW
from ebok.errors import InvalidInput, NotFound, WrongState
from ebok.models import outage as m
from ebok.settings import Settings
from ebok.store.db import Store
from entrypoints.devsmtp import DevSmtpServer
from facade.client import EbokClient
from tests.conftest import make_settings, worker_for
from tests.histories import search_attribute_writes
from tests.mailbox import addressed_to, body
from tests.timeskip import outcome
from tests.workflows.invoices import activity_count
from tests.workflows.outage_world import World, an_area


@pytest.fixture
def settings(db_url: str, smtpd: DevSmtpServer) -> Settings:
    return make_settings(
        db_url,
        smtpd.port,
        outage_reopen_grace=timedelta(hours=2),
        outage_confirm_delay=timedelta(seconds=5),
    )


@pytest.fixture
def world(store: Store, skipping_env: WorkflowEnvironment, settings: Settings) -> World:
    w = World(store)
    w.ebok = EbokClient(skipping_env.client, store, settings)
    return w


async def incident_of(
    ebok: EbokClient, report_id: str, env: WorkflowEnvironment | None = None
) -> m.IncidentStatus:
    for _ in range(200):
        view = await ebok.outage_status(report_id)
        if view.incident is not None and view.incident.reference is not None:
            return view.incident
        if env is not None:  # let the server's retry back-off pass
            await env.sleep(timedelta(seconds=20))
        else:
            await _pause()
    raise AssertionError("the report never reached an incident with an operator id")


async def _pause() -> None:
    import asyncio

    await asyncio.sleep(0.05)


def subjects(messages: list[Any], address: str) -> list[str]:
    return [str(msg["Subject"]) for msg in addressed_to(messages, address)]


async def test_single_report_to_restoration(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    world: World,
) -> None:
    (point,) = await world.points(an_area(), linked=True)
    assert world.ebok is not None and point.account is not None
    async with worker_for(skipping_env.client, settings, store, operator=world.operator):
        accepted = await world.ebok.report_outage(
            point.ppe, "Brak prądu w całym mieszkaniu", account_id=point.account
        )
        assert not accepted.duplicate
        incident = await incident_of(world.ebok, accepted.report_id)
        assert incident.phase is m.Phase.REPORTED and incident.reports == 1
        assert len(world.simulation.tickets) == 1
        await smtpd.wait_for(1)

        await world.simulation.acknowledge(incident.reference or "")
        await world.simulation.set_expected_restoration(
            incident.reference or "", world.clock() + timedelta(hours=3)
        )
        await smtpd.wait_for(3)
        await world.simulation.restore(incident.reference or "")
        done = await outcome(skipping_env, incident.incident_id, m.IncidentStatus)
        await world.clock.sync(skipping_env)

    assert done.phase is m.Phase.RESTORED and done.reports == 1 and not done.entitled
    got = subjects(smtpd.messages, point.email)
    assert got[0].startswith("Przyjęliśmy zgłoszenie awarii")
    assert got[-1] == f"Zasilanie przywrócone (PPE {point.ppe})"
    assert any(s.startswith("Stoen Operator przyjął") for s in got)
    assert any(s.startswith("Przewidywany czas") for s in got)  # the first ETA: not "new"
    assert not any(s.startswith("Nowy przewidywany czas") for s in got)
    assert len({msg["Message-ID"] for msg in smtpd.messages}) == len(smtpd.messages)
    assert "Brak prądu" not in "".join(body(msg) for msg in smtpd.messages)  # stays with us
    async with store.begin() as uow:
        report = await uow.outages.report(accepted.report_id)
    assert report is not None and report.closed_at is not None
    # The area is known when the report is made: set with the start, never upserted after.
    history = await skipping_env.client.get_workflow_handle(accepted.report_id).fetch_history()
    at_start, upserted = search_attribute_writes(history)
    assert "EbokArea" in at_start and "EbokArea" not in upserted and "EbokStatus" in upserted
    # Joining the incident is a local activity in the report's first workflow task.
    assert await activity_count(skipping_env.client, accepted.report_id, m.ATTACH) == 0
    handle = skipping_env.client.get_workflow_handle(accepted.report_id)
    assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED


async def test_report_attaches_to_a_known_outage_and_tells_the_eta(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    world: World,
) -> None:
    area = an_area()
    points = await world.points(area, 2)
    eta = world.clock() + timedelta(hours=4)
    reference = await world.simulation.start_storm(area, expected_restoration=eta)
    assert world.ebok is not None
    async with worker_for(skipping_env.client, settings, store, operator=world.operator):
        first = await world.ebok.report_outage(points[0].ppe, "Nie ma prądu", email=points[0].email)
        incident = await incident_of(world.ebok, first.report_id)
        second = await world.ebok.report_outage(points[1].ppe, "Ciemno", email=points[1].email)
        again = await incident_of(world.ebok, second.report_id)
        await smtpd.wait_for(2)
    assert incident.reference == reference and again.incident_id == incident.incident_id
    assert incident.phase is m.Phase.REPORTED and incident.eta == eta
    assert world.simulation.tickets == {}  # known already: no ticket of ours
    (mail,) = addressed_to(smtpd.messages, points[0].email)
    assert eta.astimezone(WARSAW).strftime("%d.%m.%Y %H:%M") in body(mail)


async def test_planned_work_tells_the_window_and_ends_with_it(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    world: World,
) -> None:
    area = an_area()
    (point,) = await world.points(area)
    start, end = world.clock() - timedelta(hours=1), world.clock() + timedelta(hours=5)
    await world.simulation.plan_work(area, start, end)
    assert world.ebok is not None
    async with worker_for(skipping_env.client, settings, store, operator=world.operator):
        accepted = await world.ebok.report_outage(
            point.ppe, "Brak zasilania", phone="+48 600 100 200"
        )
        dup = await world.ebok.report_outage(point.ppe, "Nadal brak", phone="+48600100200 ")
        assert dup.report_id == accepted.report_id and dup.duplicate and dup.info_added
        mailed = await world.ebok.report_outage(point.ppe, "Brak zasilania", email=point.email)
        incident = await incident_of(world.ebok, mailed.report_id)
        assert incident.kind is m.Kind.PLANNED and incident.phase is m.Phase.PLANNED
        await smtpd.wait_for(1)
        world.clock.offset = timedelta(hours=6)  # the DSO's window has passed
        done = await outcome(skipping_env, incident.incident_id, m.IncidentStatus)
    assert done.phase is m.Phase.RESTORED and done.reports == 2 and not done.entitled
    got = addressed_to(smtpd.messages, point.email)
    assert end.astimezone(WARSAW).strftime("%d.%m.%Y %H:%M") in body(got[0])
    assert "planowane prace" in body(got[0])
    assert got[-1]["Subject"].startswith("Zasilanie przywrócone")
    assert len(smtpd.messages) == len(got)  # the phone-only reporter gets no mail


async def test_no_acknowledgement_escalates_to_the_back_office(
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
        await skipping_env.sleep(settings.outage_ack_sla - timedelta(minutes=5))
        assert addressed_to(smtpd.messages, settings.backoffice_email) == []
        await skipping_env.sleep(timedelta(minutes=6))
        (escalation,) = addressed_to(await smtpd.wait_for(2), settings.backoffice_email)
        status = await world.ebok.incident_status(incident.incident_id)
    assert status.escalations == 1 and status.phase is m.Phase.REPORTED
    assert incident.incident_id in body(escalation) and point.email not in body(escalation)
    assert point.ppe not in body(escalation)


async def test_interruption_over_24h_records_compensation_once(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    world: World,
) -> None:
    area = an_area()
    home, shop = await world.points(area), await world.points(area, household=False)
    assert world.ebok is not None
    async with worker_for(skipping_env.client, settings, store, operator=world.operator):
        first = await world.ebok.report_outage(home[0].ppe, "Brak prądu", email=home[0].email)
        incident = await incident_of(world.ebok, first.report_id)
        await world.ebok.report_outage(shop[0].ppe, "Sklep bez prądu", email=shop[0].email)
        await world.simulation.acknowledge(incident.reference or "")
        await skipping_env.sleep(timedelta(hours=24, minutes=5))
        status = await world.ebok.incident_status(incident.incident_id)
        assert status.entitled and status.phase is m.Phase.ACKNOWLEDGED
        await world.clock.sync(skipping_env)
        await world.simulation.restore(incident.reference or "")
        done = await outcome(skipping_env, incident.incident_id, m.IncidentStatus)
    async with store.begin() as uow:
        (entitlement,) = await uow.outages.entitlements(incident_id=incident.incident_id)
    assert entitlement.ppe == home[0].ppe and entitlement.partner_number == home[0].partner
    assert entitlement.interruption_end is not None and done.restored_at is not None
    assert entitlement.interruption_end - entitlement.interruption_start > timedelta(hours=24)
    home_mail = [str(x["Subject"]) for x in addressed_to(smtpd.messages, home[0].email)]
    assert any("bonifikata" in s for s in home_mail)
    shop_mail = addressed_to(smtpd.messages, shop[0].email)
    assert not any("bonifikata" in str(x["Subject"]) for x in shop_mail)
    assert "bonifikata" in body(addressed_to(smtpd.messages, home[0].email)[-1])


async def test_operator_down_is_retried_until_the_ticket_opens(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    world: World,
) -> None:
    (point,) = await world.points(an_area())
    world.operator.fail_next(4)
    assert world.ebok is not None
    async with worker_for(skipping_env.client, settings, store, operator=world.operator):
        accepted = await world.ebok.report_outage(point.ppe, "Brak prądu", email=point.email)
        incident = await incident_of(world.ebok, accepted.report_id, skipping_env)
        await smtpd.wait_for(1)
    assert incident.phase is m.Phase.REPORTED and len(world.simulation.tickets) == 1
    assert world.operator.calls >= 6  # 4 failures, the lookup and the ticket


async def test_customer_adds_information_then_says_power_is_back(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    world: World,
) -> None:
    (point,) = await world.points(an_area(), linked=True)
    assert world.ebok is not None and point.account is not None
    async with worker_for(skipping_env.client, settings, store, operator=world.operator):
        accepted = await world.ebok.report_outage(point.ppe, "Brak prądu", account_id=point.account)
        again = await world.ebok.report_outage(point.ppe, "Wciąż brak", account_id=point.account)
        assert again.report_id == accepted.report_id and again.duplicate and again.info_added
        incident = await incident_of(world.ebok, accepted.report_id)
        noted = await world.ebok.add_outage_info(accepted.report_id, "Iskrzy słup przy bramie")
        assert noted.notes == 2  # the duplicate's description was the first
        back = await world.ebok.power_is_back(accepted.report_id)
        assert back.state is m.ReportState.POWER_BACK
        with pytest.raises((WrongState, NotFound)):  # closed (or finished) already
            await world.ebok.power_is_back(accepted.report_id)
        for _ in range(100):
            status = await world.ebok.incident_status(incident.incident_id)
            if status.customers_restored:
                break
            await _pause()
        new = await world.ebok.report_outage(point.ppe, "Znowu brak", account_id=point.account)
    assert status.customers_restored == 1 and status.phase is m.Phase.REPORTED
    assert not new.duplicate and new.report_id != accepted.report_id  # the first one is closed
    async with store.begin() as uow:
        notes = await uow.outages.notes(accepted.report_id)
    assert notes == ["Wciąż brak", "Iskrzy słup przy bramie"]


async def test_after_staff_close_a_report_is_new_and_starts_a_new_incident(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    world: World,
) -> None:
    (point,) = await world.points(an_area())
    assert world.ebok is not None
    ebok = world.ebok
    async with worker_for(skipping_env.client, settings, store, operator=world.operator):
        first = await ebok.report_outage(point.ppe, "Brak prądu", email=point.email)
        incident = await incident_of(ebok, first.report_id)
        closed = await ebok.close_incident(incident.incident_id, "usunięto na miejscu", "anna")
        assert closed.phase is m.Phase.CLOSED
        again = await ebok.report_outage(point.ppe, "Znowu nie ma prądu", email=point.email)
        renewed = await incident_of(ebok, again.report_id)
        await smtpd.wait_for(3)
        old = await ebok.outage_status(first.report_id)
    assert not again.duplicate and not again.info_added and again.report_id != first.report_id
    assert renewed.incident_id != incident.incident_id and renewed.reports == 1
    # Closed on our side only: the DSO's incident is still open, so the new one follows it.
    assert renewed.reference == incident.reference and len(world.simulation.tickets) == 1
    # The old report still belongs to the closed incident (a re-open would reach it).
    assert old.report.state is m.ReportState.ATTACHED
    assert old.report.incident_id == incident.incident_id
    async with store.begin() as uow:
        kept = await uow.outages.report(again.report_id)
        assert await uow.outages.notes(first.report_id) == []
    assert kept is not None and kept.description == "Znowu nie ma prądu"


async def test_staff_merge_close_and_reopen(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    world: World,
) -> None:
    north, south = await world.points(an_area()), await world.points(an_area())
    assert world.ebok is not None
    ebok = world.ebok
    async with worker_for(skipping_env.client, settings, store, operator=world.operator):
        a = await incident_of(
            ebok, (await ebok.report_outage(north[0].ppe, "Brak", email=north[0].email)).report_id
        )
        b = await incident_of(
            ebok, (await ebok.report_outage(south[0].ppe, "Brak", email=south[0].email)).report_id
        )
        await smtpd.wait_for(2)  # both reporters have heard of their incident
        with pytest.raises(InvalidInput):
            await ebok.merge_incidents(b.incident_id, b.incident_id + "\n", "x" * 5, "anna")
        merged = await ebok.merge_incidents(b.incident_id, a.incident_id, "ta sama linia", "anna")
        assert merged.phase is m.Phase.MERGED and merged.merged_into == a.incident_id
        for _ in range(100):
            if (await ebok.incident_status(a.incident_id)).reports == 2:
                break
            await _pause()
        closed = await ebok.close_incident(a.incident_id, "usunięto na miejscu", "anna")
        assert closed.phase is m.Phase.CLOSED
        with pytest.raises(WrongState):
            await ebok.close_incident(a.incident_id, "drugi raz", "anna")
        reopened = await ebok.reopen_incident(a.incident_id, "klienci dzwonią", "jan")
        assert reopened.phase is m.Phase.REPORTED and reopened.reports == 2
        await world.simulation.restore(a.reference or "")
        for _ in range(200):  # the mails first: skipping hours while they go would be unfair
            if sum(str(x["Subject"]).startswith("Zasilanie") for x in smtpd.messages) == 2:
                break
            await _pause()
        done = await outcome(skipping_env, a.incident_id, m.IncidentStatus)
    assert done.phase is m.Phase.RESTORED
    south_mail = [str(x["Subject"]) for x in addressed_to(smtpd.messages, south[0].email)]
    assert south_mail[-1].startswith("Zasilanie przywrócone")
    assert any(s.startswith("Zgłoszenie awarii otwarte ponownie") for s in south_mail)
