"""Outage reporting end to end on the time-skipping server: real store (SQLite and
PostgreSQL), real SMTP, the sandbox DSO (its status pushes delivered as the webhook does)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from ebok.client import EbokClient
from ebok.devsmtp import DevSmtpServer
from ebok.models import outage as m
from ebok.settings import Settings
from ebok.store.db import Store
from tests.conftest import make_settings, worker_for
from tests.mailbox import addressed_to, body
from tests.timeskip import outcome
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


async def incident_of(ebok: EbokClient, report_id: str) -> m.IncidentStatus:
    for _ in range(200):
        view = await ebok.outage_status(report_id)
        if view.incident is not None and view.incident.reference is not None:
            return view.incident
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
    assert any(s.startswith("Nowy przewidywany czas") for s in got)
    assert len({msg["Message-ID"] for msg in smtpd.messages}) == len(smtpd.messages)
    assert "Brak prądu" not in "".join(body(msg) for msg in smtpd.messages)  # stays with us
    async with store.begin() as uow:
        report = await uow.outages.report(accepted.report_id)
    assert report is not None and report.closed_at is not None
    handle = skipping_env.client.get_workflow_handle(accepted.report_id)
    assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED
