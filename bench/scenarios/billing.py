"""A billing run: invoices issued to partners with an e-invoice consent in force, each e-mailed
with its PDF and a pay-online link; every invoice then waits for its payment.

Before the measured run, every iteration gets its own partner with one PPE and contract account
(one bulk import of a partner CSV, as in ``linking``) and an active e-invoice consent (written
straight into the store, one transaction): the timed part is issuing and delivery only.

One iteration is ``issue_invoice`` until the e-invoice with its PDF attachment has arrived at
the SMTP server. The workflow is then waiting for payment (a timer on the first reminder), so
the worker's resident memory at the end of the phase is that of N open invoices. The open
workflows of both sides are terminated once their histories have been counted.

Latencies: ``issue`` (the ``issue_invoice`` call: partner and account checks in the store, the
workflow started) and ``mail`` (from the call until the mail arrived). The bare side records
the same names: start workflow, the deliver activity's message.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from bench.bare import BareInvoice, BareKey
from bench.harness import (
    Running,
    Stack,
    Timings,
    WorkerStarter,
    bare_worker,
    mirror_worker,
    our_worker,
)
from bench.inbox import Mailbox
from bench.scenarios import Scenario, register
from bench.scenarios.linking import Customer, _customers
from ebok.models import invoice as m
from ebok.store.consents import Consent
from ebok.store.db import Store
from facade.bank_statement import individual_nrb
from facade.billing_import import COLUMNS, import_partners
from facade.client import EbokClient
from tests.workflows.invoices import BANK, lines

MAIL_TIMEOUT = 55.0  # below the harness's default --timeout (60 s): the failure says which step
GROSS = 24567  # grosze; 245,67 zł
SETTLE = 2.0  # seconds for the last workflows to reach their wait before the worker stops
TERMINATE_CONCURRENCY = 50


async def _load(store: Store, customers: list[Customer]) -> None:
    """Partners through the billing import (one file), consents straight into the store as a
    confirmed e-invoice request leaves them."""
    rows = [",".join(COLUMNS)]
    for c in customers:
        rows.append(
            f"{c.partner_number},Klient Testowy,household,,{c.pesel},{c.contract_account},"
            f"{c.ppe},,WAW-MOKOTOW,G11"
        )
    report = await import_partners(store, io.StringIO("\n".join(rows) + "\n"))
    if not report.ok:
        raise RuntimeError(f"partner import: {report.summary()}; first: {report.bad[0]}")
    now = datetime.now(UTC)
    async with store.begin() as uow:
        for c in customers:
            consent = Consent(
                id=c.account_id,
                partner_number=c.partner_number,
                account_id=c.account_id,
                email=c.email,
                language="pl",
                terms_version="2026-01",
                channel="web",
                requested_at=now,
                granted_at=now,
                withdrawn_at=None,
                withdrawn_channel=None,
            )
            await uow.consents.grant(consent)


def _invoice(c: Customer, tag: str, i: int) -> dict[str, object]:
    items = lines(GROSS)
    today = datetime.now(UTC).date()
    return {
        "number": f"FV/BENCH/{tag}/{i:06d}",
        "partner_number": c.partner_number,
        "contract_account": c.contract_account,
        "ppe": c.ppe,
        "lines": items,
        "net": sum(x["net"] for x in items),
        "vat": sum(x["vat"] for x in items),
        "gross": GROSS,
        "issue_date": today,
        "due_date": today + timedelta(days=14),
        "nrb": individual_nrb(BANK, c.partner_number),
    }


async def terminate(client: Client, workflow_ids: Iterable[str], reason: str) -> int:
    """End the workflows still running (those that never started or already ended are skipped);
    how many were terminated."""
    gate = asyncio.Semaphore(TERMINATE_CONCURRENCY)

    async def one(workflow_id: str) -> int:
        async with gate:
            try:
                await client.get_workflow_handle(workflow_id).terminate(reason=reason)
            except RPCError as e:
                if e.status == RPCStatusCode.NOT_FOUND:  # never started, or closed already
                    return 0
                raise
            return 1

    return sum(await asyncio.gather(*(one(w) for w in workflow_ids)))


@contextlib.asynccontextmanager
async def ours(
    stack: Stack, planned: int, worker: WorkerStarter = our_worker
) -> AsyncIterator[Running]:
    customers = _customers(f"bill{stack.tag}", planned)
    invoices = [_invoice(c, stack.tag, i) for i, c in enumerate(customers)]
    ids = [m.workflow_id(str(inv["number"])) for inv in invoices]
    settings = stack.settings()
    # The facade gets its own pool, as the billing system's caller would have beside the worker.
    store = Store.from_settings(settings)
    try:
        await _load(store, customers)
        async with Mailbox(stack.smtpd) as mailbox, worker(stack, settings) as pids:
            facade = EbokClient(stack.client, store, settings)

            async def one(i: int, timings: Timings) -> str:
                c = customers[i]
                mail = mailbox.expect(c.email)
                began = time.perf_counter()
                with timings.measure("issue"):
                    workflow_id = await facade.issue_invoice(invoices[i])
                try:
                    async with asyncio.timeout(MAIL_TIMEOUT):
                        arrived = await mail
                except TimeoutError:
                    raise AssertionError(
                        f"no e-invoice within {MAIL_TIMEOUT:.0f} s for workflow {workflow_id}"
                    ) from None
                if str(invoices[i]["number"]) not in arrived.subject:
                    raise AssertionError(f"billing {i}: mail {arrived.subject!r}")
                if not arrived.attaches("application/pdf"):
                    raise AssertionError(f"billing {i}: no PDF attached")
                timings.add("mail", arrived.at - began)
                return workflow_id

            async def cleanup() -> None:
                await terminate(stack.client, ids, "bench run over")

            yield Running(one, pids, cleanup)
            await asyncio.sleep(SETTLE)
    finally:
        await store.aclose()


@contextlib.asynccontextmanager
async def mirror(stack: Stack, planned: int) -> AsyncIterator[Running]:
    """Our driver and activities, the bare mirror's workflow code (``bench.mirror_worker``)."""
    async with ours(stack, planned, mirror_worker) as running:
        yield running


@contextlib.asynccontextmanager
async def bare(stack: Stack, planned: int) -> AsyncIterator[Running]:
    ids = [f"bench-bare-invoice-{stack.tag}-{i}" for i in range(planned)]
    async with bare_worker(stack) as worker:

        async def one(i: int, timings: Timings) -> str:
            workflow_id = ids[i]
            key = BareKey(key=workflow_id)
            mail = worker.inbox.expect(workflow_id)
            began = time.perf_counter()
            with timings.measure("issue"):
                await stack.client.start_workflow(
                    BareInvoice.run, key, id=workflow_id, task_queue=worker.task_queue
                )
            async with asyncio.timeout(MAIL_TIMEOUT):
                arrived = await mail
            timings.add("mail", arrived.at - began)
            return workflow_id

        async def cleanup() -> None:
            await terminate(stack.client, ids, "bench run over")

        yield Running(one, worker.pids, cleanup)
        await asyncio.sleep(SETTLE)


register(
    Scenario(
        name="billing",
        unit="invoices",
        ours=ours,
        mirror=mirror,
        bare=bare,
        latencies=("issue", "mail"),
        description="issue an invoice to an e-invoice partner until its mail with PDF arrives",
    )
)
