"""An outage storm: N customers report no power (anonymous reports with a contact e-mail, each
its own PPE) spread over 3 areas, so 3 incidents each open one ticket at the grid operator;
once every reporter is confirmed by mail, the operator restores the 3 incidents and every
reporter gets the "Zasilanie przywrócone" mail; after the re-open grace the incidents close
their reports and end.

Before the measured run the customers are loaded into billing (one import of a partner CSV
with their areas) and into the sandbox operator's registry (same PPEs and areas), which the
worker reads at its start; none of it is timed. The sandbox DSO's state is a JSON file
(``EBOK_OPERATOR_SANDBOX_STATE``) that the worker and the bench share: the bench restores the
incidents there and delivers each status change as the webhook does after verifying its
signature (``EbokClient.operator_status_changed`` → ``operator_status`` signal), so the
restoration reaches the incidents at once; the status poll stays at its 10-minute default.

Latencies: ``report`` (the ``report_outage`` call: validation, billing reads, the report row,
the workflow started) and ``notified`` (from the restoration at the DSO until each reporter's
restoration mail arrived). Figures of the finish step: the time until the last reporter had
it, incident runs and events per incident run. The bare side records the same names.

``BENCH_STORM_AREAS`` (3) and ``BENCH_STORM_REPORTS_PER_RUN`` (the deployment default, 500)
change the shape, e.g. ``BENCH_STORM_AREAS=1 BENCH_STORM_REPORTS_PER_RUN=2000`` for one
incident run holding every report.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import random
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from stdnum import ean
from stdnum.pl import pesel
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from activities.outage_operator import operator_status
from adapters.operator.base import IncidentStatus
from adapters.operator.simulation import DsoSimulation
from bench.actions import actions, total
from bench.api_driver import HttpFacade, over_http
from bench.bare_storm import StormConfig, StormKey, StormReportInput
from bench.bare_storm_incident import BareStormIncident
from bench.bare_storm_report import BareStormReport
from bench.child import worker_env
from bench.harness import (
    Running,
    Stack,
    Timings,
    WorkerStarter,
    bare_worker,
    mirror_worker,
    our_worker,
)
from bench.inbox import Arrival
from bench.scenarios import Scenario, register
from bench.smtp_sink import SmtpSink
from ebok.ids import STOEN_PPE_PREFIX
from ebok.settings import Settings
from ebok.store.db import Store
from facade.billing_import import COLUMNS, INVOICE_COLUMNS, import_partners
from facade.client import EbokClient

AREAS = int(os.environ.get("BENCH_STORM_AREAS", "3"))
REPORTS_PER_RUN = int(os.environ.get("BENCH_STORM_REPORTS_PER_RUN", "500"))
CONFIRM_DELAY = timedelta(seconds=2)  # new reports confirmed in batches every 2 s (default 20)
REOPEN_GRACE = timedelta(seconds=1)  # the incidents end soon after the restoration (default 24 h)
FINISH_TIMEOUT = 900.0  # each wait of the finish step
RECEIVED = "Przyjęliśmy zgłoszenie awarii"  # the subjects of the two mails every reporter gets
RESTORED = "Zasilanie przywrócone"


@dataclass(frozen=True)
class Customer:
    email: str
    partner_number: str
    pesel: str
    contract_account: str
    ppe: str
    area: str


def _customers(tag: str, count: int) -> list[Customer]:
    """``count`` distinct customers with valid check digits, area by index (round robin)."""
    rng = random.Random(uuid.uuid4().int)
    partner0 = rng.randrange(10**9, 9 * 10**9)
    account0 = rng.randrange(10**11, 9 * 10**11)
    ppe0 = rng.randrange(0, 9 * 10**9)
    out = []
    for i in range(count):
        ppe = f"{STOEN_PPE_PREFIX}{ppe0 + i:010d}"
        birth = f"{50 + i % 50:02d}{1 + i % 12:02d}{1 + i % 28:02d}{rng.randrange(10**4):04d}"
        out.append(
            Customer(
                email=f"storm.{tag}.{i}@ebok.example.pl",
                partner_number=str(partner0 + i),
                pesel=birth + pesel.calc_check_digit(birth),
                contract_account=str(account0 + i),
                ppe=ppe + ean.calc_check_digit(ppe),
                area=_area(tag, i),
            )
        )
    return out


def _area(tag: str, i: int) -> str:
    return f"BENCH-{tag.upper()}-{i % AREAS}"


def _config(settings: Settings) -> StormConfig:
    return StormConfig(
        batch_size=settings.outage_batch_size,
        reports_per_run=settings.outage_reports_per_run,
        confirm_delay_s=settings.outage_confirm_delay.total_seconds(),
        reopen_grace_s=settings.outage_reopen_grace.total_seconds(),
        poll_interval_s=settings.outage_poll_interval.total_seconds(),
        patience_s=settings.outage_report_patience.total_seconds(),
    )


async def _load(store: Store, customers: list[Customer]) -> None:
    lines = [",".join((*COLUMNS, *INVOICE_COLUMNS))]
    for c in customers:
        lines.append(
            f"{c.partner_number},Klient Testowy,household,,{c.pesel},{c.contract_account},"
            f"{c.ppe},,{c.area},G11,,,"
        )
    report = await import_partners(store, io.StringIO("\n".join(lines) + "\n"))
    if not report.ok:
        raise RuntimeError(f"partner import: {report.summary()}; first: {report.bad[0]}")


def _registry(path: Path, customers: list[Customer]) -> None:
    rows = [f"{c.ppe},{c.pesel},distribution,active,{c.area}" for c in customers]
    path.write_text("ppe,holder_id,contract_type,status,area\n" + "\n".join(rows) + "\n")


def _iso(d: timedelta) -> str:
    return f"PT{d.total_seconds():g}S"


def _env(settings: Settings) -> dict[str, str]:
    """The run's ``EBOK_*`` variables: the usual ones and the outage settings of the storm."""
    env = worker_env(settings)
    assert settings.operator_sandbox_state is not None
    env.update(
        EBOK_OPERATOR_SANDBOX_STATE=str(settings.operator_sandbox_state),
        EBOK_OUTAGE_CONFIRM_DELAY=_iso(settings.outage_confirm_delay),
        EBOK_OUTAGE_REOPEN_GRACE=_iso(settings.outage_reopen_grace),
        EBOK_OUTAGE_POLL_INTERVAL=_iso(settings.outage_poll_interval),
        EBOK_OUTAGE_REPORTS_PER_RUN=str(settings.outage_reports_per_run),
        EBOK_OUTAGE_BATCH_SIZE=str(settings.outage_batch_size),
    )
    return env


class _Mail:
    """Hands each arriving mail to the waiter for its recipient and subject."""

    def __init__(self, smtpd: SmtpSink) -> None:
        self._smtpd = smtpd
        self._waiting: dict[tuple[str, str], asyncio.Future[Arrival]] = {}
        self._seen = len(smtpd.received)

    def expect(self, address: str, subject: str) -> asyncio.Future[Arrival]:
        arrived: asyncio.Future[Arrival] = asyncio.get_running_loop().create_future()
        self._waiting[(address.lower(), subject)] = arrived
        return arrived

    async def pump(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await self._smtpd.wait_for(self._seen + 1, timeout=60)
            now = time.perf_counter()
            received = self._smtpd.received
            for delivery in received[self._seen :]:
                subject = str(delivery.headers["Subject"] or "")
                for title in (RECEIVED, RESTORED):
                    if subject.startswith(title):
                        for rcpt in delivery.rcpt_tos:
                            waiter = self._waiting.pop((rcpt.lower(), title), None)
                            if waiter is not None and not waiter.done():
                                waiter.set_result(Arrival(now, delivery))
            self._seen = len(received)


async def _all(what: str, futures: list[asyncio.Future[Arrival]]) -> list[Arrival]:
    try:
        async with asyncio.timeout(FINISH_TIMEOUT):
            return list(await asyncio.gather(*futures))
    except TimeoutError:
        missing = sum(not f.done() for f in futures)
        raise AssertionError(f"{missing} of {len(futures)} {what} never arrived") from None


async def _restore_and_count(
    client: Client,
    task_queue: str,
    incidents: list[str],
    restore: Callable[[], Awaitable[None]],
    restored: list[asyncio.Future[Arrival]],
    timings: Timings,
) -> dict[str, float]:
    """Restore every incident, time each reporter's mail, wait for the incidents and reports
    to end, and count the incident runs' events."""
    began = time.perf_counter()
    await restore()
    for arrival in await _all("restoration mails", restored):
        timings.add("notified", arrival.at - began)
    notified = time.perf_counter() - began
    async with asyncio.timeout(FINISH_TIMEOUT):
        for incident in incidents:
            await client.get_workflow_handle(incident).result()
        await _until_none_open(client, task_queue)
    ended = time.perf_counter() - began
    runs = [run for incident in incidents for run in await incident_runs(client, incident)]
    events = [len(run) for run in runs]
    return {
        "notified total (s)": notified,
        "restored → all ended (s)": ended,
        "incident runs": float(len(runs)),
        "incident events/run (max)": float(max(events)),
        "incident events/run (mean)": sum(events) / len(events),
        # Each report's share of its incident's actions (warm-up reports included).
        "incident actions/report": sum(total(actions(run)) for run in runs) / len(restored),
    }


def _open_query(task_queue: str) -> str:
    return f"TaskQueue = '{task_queue}' AND ExecutionStatus = 'Running'"


async def _until_none_open(client: Client, task_queue: str) -> None:
    while (await client.count_workflows(_open_query(task_queue))).count:
        await asyncio.sleep(0.5)


@contextlib.asynccontextmanager
async def _cleaned(client: Client, task_queue: str) -> AsyncIterator[None]:
    """Whatever happened, no workflow of the run stays open on the server."""
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            async for w in client.list_workflows(_open_query(task_queue)):
                with contextlib.suppress(Exception):
                    await client.get_workflow_handle(w.id, run_id=w.run_id).terminate(
                        "bench run over"
                    )


async def incident_runs(client: Client, workflow_id: str) -> list[list[HistoryEvent]]:
    """The events of each run of a workflow that continues as new, oldest run first."""
    runs: list[list[HistoryEvent]] = []
    run_id: str | None = (await client.get_workflow_handle(workflow_id).describe()).run_id
    while run_id:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        runs.insert(0, list(history.events))
        started = history.events[0].workflow_execution_started_event_attributes
        run_id = started.continued_execution_run_id or None
    return runs


def _settings(stack: Stack, folder: Path | None = None) -> Settings:
    """The storm's outage settings, for our worker and facade and for the bare mirror."""
    where = {}
    if folder is not None:
        where = {
            "operator_registry": folder / "registry.csv",
            "operator_sandbox_state": folder / "dso.json",
        }
    return stack.settings(
        operator_adapter="sandbox",
        outage_confirm_delay=CONFIRM_DELAY,
        outage_reopen_grace=REOPEN_GRACE,
        outage_reports_per_run=REPORTS_PER_RUN,
        **where,
    )


@contextlib.asynccontextmanager
async def ours(
    stack: Stack, planned: int, worker: WorkerStarter = our_worker, *, via_http: bool = False
) -> AsyncIterator[Running]:
    customers = _customers(stack.tag, planned)
    with tempfile.TemporaryDirectory(prefix="ebok-bench-storm-") as folder:
        settings = _settings(stack, Path(folder))
        _registry(Path(folder) / "registry.csv", customers)
        # The facade gets its own pool, as the portal's back end would have beside the worker.
        store = Store.from_settings(settings)
        mail = _Mail(stack.smtpd)
        pump = asyncio.create_task(mail.pump())
        try:
            await _load(store, customers)
            async with (
                worker(stack, settings, _env(settings)) as pids,
                _cleaned(stack.client, settings.task_queue),
                contextlib.AsyncExitStack() as closing,
            ):
                facade = EbokClient(stack.client, store, settings)
                calls: EbokClient | HttpFacade = facade
                if via_http:
                    calls = await closing.enter_async_context(over_http(facade, settings))
                received = [mail.expect(c.email, RECEIVED) for c in customers]
                restored = [mail.expect(c.email, RESTORED) for c in customers]

                async def push(status: IncidentStatus) -> None:
                    # What the webhook endpoint does with a verified notification.
                    await facade.operator_status_changed(operator_status(status))

                async def one(i: int, timings: Timings) -> str:
                    c = customers[i]
                    with timings.measure("report"):
                        accepted = await calls.report_outage(
                            c.ppe, f"Brak prądu od rana ({i})", email=c.email
                        )
                    if accepted.duplicate:
                        raise AssertionError(f"report {i}: taken as a duplicate")
                    return accepted.report_id

                async def finish(timings: Timings) -> dict[str, float]:
                    await _all("confirmations", received)  # every report is attached
                    dso = DsoSimulation(path=settings.operator_sandbox_state, on_status=push)
                    dso.refresh()
                    if len(dso.incidents) != AREAS:
                        raise AssertionError(f"{len(dso.incidents)} tickets for {AREAS} areas")
                    incidents = sorted(dso.tickets)  # our incident ids, the tickets' keys

                    async def restore() -> None:
                        for reference in sorted(dso.incidents):
                            await dso.restore(reference)

                    return await _restore_and_count(
                        stack.client, settings.task_queue, incidents, restore, restored, timings
                    )

                yield Running(one, pids, finish=finish)
        finally:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
            await store.aclose()


@contextlib.asynccontextmanager
async def api(stack: Stack, planned: int) -> AsyncIterator[Running]:
    """Ours, the reports made over the HTTP API."""
    async with ours(stack, planned, via_http=True) as running:
        yield running


@contextlib.asynccontextmanager
async def mirror(stack: Stack, planned: int) -> AsyncIterator[Running]:
    """Our driver and activities, the bare mirror's workflow code (``bench.mirror_worker``)."""
    async with ours(stack, planned, mirror_worker) as running:
        yield running


@contextlib.asynccontextmanager
async def bare(stack: Stack, planned: int) -> AsyncIterator[Running]:
    config = _config(_settings(stack))
    incidents = [f"bench-bare-incident-{stack.tag}-{a}" for a in range(AREAS)]
    async with bare_worker(stack) as worker, _cleaned(stack.client, worker.task_queue):
        keys = [f"bench-bare-storm-{stack.tag}-{i}" for i in range(planned)]
        received = [worker.inbox.expect(f"{k}:received") for k in keys]
        restored = [worker.inbox.expect(f"{k}:restored") for k in keys]

        async def one(i: int, timings: Timings) -> str:
            req = StormReportInput(key=keys[i], incident_id=incidents[i % AREAS], config=config)
            with timings.measure("report"):
                await stack.client.start_workflow(
                    BareStormReport.run,
                    req,
                    id=keys[i],
                    task_queue=worker.task_queue,
                    id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                )
            return keys[i]

        async def finish(timings: Timings) -> dict[str, float]:
            await _all("confirmations", received)

            async def restore() -> None:
                for incident in incidents:
                    handle = stack.client.get_workflow_handle(incident)
                    await handle.signal(BareStormIncident.operator_status, StormKey("restored"))

            return await _restore_and_count(
                stack.client, worker.task_queue, incidents, restore, restored, timings
            )

        yield Running(one, worker.pids, finish=finish)


register(
    Scenario(
        name="storm",
        unit="reports",
        ours=ours,
        api=api,
        mirror=mirror,
        bare=bare,
        latencies=("report", "notified"),
        description="N outage reports over 3 areas, 3 tickets, restoration mailed to everyone",
        one_worker_only="the bare mirror keeps each incident's reporters in its worker's memory",
    )
)
