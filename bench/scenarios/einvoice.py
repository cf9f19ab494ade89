"""E-invoice consent, happy path: a linked account asks for e-invoices → the confirmation mail
arrives at the SMTP server → the token from its link confirms → the consent is recorded and
"E-faktura aktywna" is mailed. The workflow then waits for a withdrawal.

Before the measured run, every iteration gets its own partner with one PPE (one bulk import
of a partner CSV, as in ``linking``), its own activated account, and the link between them,
written straight into the store as a finished partner linking leaves it: the timed part is
the consent only.

Latencies: ``request`` (the ``request_einvoice`` call: the account, link and consent checks in
the store, the process started, the ``request`` update with its check activity), ``mail``
(from the call until the confirmation mail arrived), ``confirm`` (the ``confirm_einvoice``
call: the token looked up, the ``confirm`` update with its redeem activity), ``active`` (from
the request call until the confirmation answered: the consent recorded) and ``notified``
(until the "active" mail arrived). The bare side records the same names. Every consent is
left active, its workflow waiting for a withdrawal; both sides' workflows are terminated
once their histories have been counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from bench.bare import BareEInvoice, BareKey
from bench.harness import (
    Running,
    Stack,
    Timings,
    WorkerStarter,
    bare_worker,
    mirror_worker,
    our_worker,
)
from bench.inbox import Arrival, Mailbox
from bench.scenarios import Scenario, register
from bench.scenarios.billing import SETTLE, terminate
from bench.scenarios.linking import Customer, _customers
from bench.scenarios.linking import _load as _load_linking
from ebok.models import einvoice as m
from ebok.store.db import Store
from facade.client import EbokClient, einvoice_workflow_id

MAIL_TIMEOUT = 25.0  # twice per iteration, below the harness's --timeout (60 s)
ACTIVE_SUBJECT = "E-faktura aktywna"


async def _load(store: Store, customers: list[Customer]) -> None:
    """Partners and activated accounts as for ``linking``, then each account linked to its
    partner as a confirmed linking records it."""
    await _load_linking(store, customers)
    now = datetime.now(UTC)
    async with store.begin() as uow:
        for c in customers:
            await uow.billing.link(c.account_id, c.partner_number, now, "invoice")


async def _within(arrival: asyncio.Future[Arrival], what: str) -> Arrival:
    try:
        async with asyncio.timeout(MAIL_TIMEOUT):
            return await arrival
    except TimeoutError:
        raise AssertionError(f"no {what} within {MAIL_TIMEOUT:.0f} s") from None


@contextlib.asynccontextmanager
async def ours(
    stack: Stack, planned: int, worker: WorkerStarter = our_worker
) -> AsyncIterator[Running]:
    customers = _customers(f"einv{stack.tag}", planned)
    ids = [einvoice_workflow_id(c.partner_number) for c in customers]
    settings = stack.settings()
    link = re.compile(re.escape(settings.link(m.CONFIRM_PAGE)) + r"\?token=([0-9a-f]+)")
    # The facade gets its own pool, as the portal's back end would have beside the worker.
    store = Store.from_settings(settings)
    try:
        await _load(store, customers)
        async with Mailbox(stack.smtpd) as mailbox, worker(stack, settings) as pids:
            facade = EbokClient(stack.client, store, settings)

            async def one(i: int, timings: Timings) -> str:
                c, workflow_id = customers[i], ids[i]
                mail = mailbox.expect(c.email)
                began = time.perf_counter()
                with timings.measure("request"):
                    pending = await facade.request_einvoice(
                        c.account_id, c.partner_number, settings.einvoice_terms_version
                    )
                if pending.link_number != 1:
                    raise AssertionError(f"einvoice {i}: link {pending.link_number}")
                arrived = await _within(mail, f"confirmation mail for workflow {workflow_id}")
                timings.add("mail", arrived.at - began)
                found = link.search(arrived.text())
                if found is None:
                    raise AssertionError(f"einvoice {i}: no confirmation link in the mail")
                notified = mailbox.expect(c.email)  # the next mail: "e-faktura aktywna"
                with timings.measure("confirm"):
                    outcome = await facade.confirm_einvoice(found.group(1))
                timings.add("active", time.perf_counter() - began)
                if outcome is not m.ConfirmOutcome.ACTIVE:
                    raise AssertionError(f"einvoice {i}: confirmation {outcome.value}")
                arrived = await _within(notified, f"activation mail for workflow {workflow_id}")
                subject = arrived.subject
                if not subject.startswith(ACTIVE_SUBJECT):
                    raise AssertionError(f"einvoice {i}: mail {subject!r}")
                timings.add("notified", arrived.at - began)
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
    ids = [f"bench-bare-einvoice-{stack.tag}-{i}" for i in range(planned)]
    async with bare_worker(stack) as worker:

        async def one(i: int, timings: Timings) -> str:
            workflow_id = ids[i]
            key = BareKey(key=workflow_id)
            mail = worker.inbox.expect(workflow_id)
            began = time.perf_counter()
            with timings.measure("request"):
                handle = await stack.client.start_workflow(
                    BareEInvoice.run, key, id=workflow_id, task_queue=worker.task_queue
                )
                await handle.execute_update(BareEInvoice.request, key)
            arrived = await _within(mail, f"link message for workflow {workflow_id}")
            timings.add("mail", arrived.at - began)
            notified = worker.inbox.expect(workflow_id)
            with timings.measure("confirm"):
                await handle.execute_update(BareEInvoice.confirm, key)
            timings.add("active", time.perf_counter() - began)
            arrived = await _within(notified, f"notify message for workflow {workflow_id}")
            timings.add("notified", arrived.at - began)
            return workflow_id

        async def cleanup() -> None:
            await terminate(stack.client, ids, "bench run over")

        yield Running(one, worker.pids, cleanup)
        await asyncio.sleep(SETTLE)


register(
    Scenario(
        name="einvoice",
        unit="consents",
        ours=ours,
        mirror=mirror,
        bare=bare,
        latencies=("request", "confirm", "active"),
        description="e-invoice request, confirmation link by mail, confirmed, active mail",
    )
)
