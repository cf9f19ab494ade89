"""A storm on the real dev server: 1,000 reports over 3 areas become 3 operator tickets, and
each reporter hears of the restoration exactly once; incident histories stay small."""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from datetime import timedelta

from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from ebok.models import outage as m
from ebok.store.db import Store
from entrypoints.devsmtp import DevSmtpServer
from facade.client import EbokClient
from tests.conftest import make_settings, worker_for
from tests.workflows.outage_world import World, an_area, incident_history_events

REPORTS, AREAS = int(os.environ.get("STORM_REPORTS", "1000")), 3
# Temporal refuses a run past 51,200 events (and warns from 10,240); an incident must stay
# far below whatever the storm, as it continues as new every ``reports_per_run`` reports.
EVENTS_PER_RUN_LIMIT = 2_500


async def test_storm_of_1000_reports_opens_3_tickets_and_mails_each_reporter_once(
    env: WorkflowEnvironment, db_url: str, store: Store, smtpd: DevSmtpServer
) -> None:
    settings = make_settings(
        db_url,
        smtpd.port,
        outage_confirm_delay=timedelta(seconds=2),
        outage_reopen_grace=timedelta(seconds=1),
        outage_reports_per_run=int(os.environ.get("STORM_PER_RUN", "200")),
        outage_batch_size=100,
        smtp_pool_size=8,
        execution_timeout=timedelta(minutes=30),
    )
    world = World(store)
    ebok = world.ebok = EbokClient(env.client, store, settings)
    areas = [an_area() for _ in range(AREAS)]
    points = [p for area in areas for p in await world.points(area, REPORTS // AREAS + 1)]
    points = points[:REPORTS]
    gate = asyncio.Semaphore(40)

    async def report(i: int) -> m.ReportAccepted:
        async with gate:
            p = points[i]
            return await ebok.report_outage(p.ppe, f"Brak prądu nr {i}", email=p.email)

    async with worker_for(env.client, settings, store, operator=world.operator):
        started = time.monotonic()
        accepted = await asyncio.gather(*(report(i) for i in range(REPORTS)))
        reported = time.monotonic() - started
        print(f"\nreported after {reported:.1f} s", flush=True)
        assert len({a.report_id for a in accepted}) == REPORTS

        incidents = await _wait_for_incidents(ebok, store, areas)
        assert len(world.simulation.tickets) == AREAS  # exactly one ticket per incident
        assert len(world.simulation.incidents) == AREAS
        confirmed = await smtpd.wait_for(REPORTS, timeout=600)
        attached = time.monotonic() - started
        print(f"confirmed after {attached:.1f} s", flush=True)

        for incident in incidents:  # past its quota, each incident continues as new
            await _wait_for_second_run(env, incident.incident_id)
        for incident in incidents:
            await world.simulation.restore(incident.reference or "")
        restored = await smtpd.wait_for(2 * REPORTS, timeout=600)
        done = [
            await env.client.get_workflow_handle(
                i.incident_id, result_type=m.IncidentStatus
            ).result()
            for i in incidents
        ]
        finished = time.monotonic() - started

    assert len(confirmed) >= REPORTS and sum(d.reports for d in done) == REPORTS
    assert {d.phase for d in done} == {m.Phase.RESTORED}
    ids = Counter(msg["Message-ID"] for msg in restored)
    assert max(ids.values()) == 1  # no mail went twice
    restoration = [msg for msg in restored if str(msg["Subject"]).startswith("Zasilanie")]
    per_reporter = Counter(str(msg["To"]) for msg in restoration)
    assert len(per_reporter) == REPORTS and set(per_reporter.values()) == {1}
    assert len(restored) == 2 * REPORTS  # received + restored, nothing else

    runs = [await incident_history_events(env.client, i.incident_id) for i in incidents]
    assert all(len(r) >= 2 for r in runs), runs  # continued as new at least once
    assert max(max(r) for r in runs) < EVENTS_PER_RUN_LIMIT
    print(
        f"\nstorm: {REPORTS} reports in {reported:.1f} s; all confirmed by mail after "
        f"{attached:.1f} s; all told of the restoration after {finished:.1f} s; "
        f"events per incident run: {runs}; operator calls: {world.operator.calls}"
    )


async def _wait_for_second_run(env: WorkflowEnvironment, incident_id: str) -> None:
    for _ in range(240):
        if len(await incident_history_events(env.client, incident_id)) >= 2:
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"{incident_id} never continued as new")


async def _wait_for_incidents(
    ebok: EbokClient, store: Store, areas: list[str]
) -> list[m.IncidentStatus]:
    for _ in range(600):
        found = []
        for area in areas:
            async with store.begin() as uow:
                incident_id = await uow.outages.open_area_incident(area)
            try:  # a query waits for a worker that is busy with the storm: may time out
                status = await ebok.incident_status(incident_id) if incident_id else None
            except RPCError:
                status = None
            if status is not None and status.reference is not None:
                found.append(status)
        if len(found) == len(areas):
            return found
        await asyncio.sleep(0.5)
    raise AssertionError("the incidents never opened their tickets")
