"""An invoice paid online: issued to a partner with an e-invoice consent (as in ``billing``),
e-mailed with its PDF and pay link; the customer pays at the sandbox payment provider, whose
signed notification the facade takes (``payment_notification``, as the payments webhook hands
it on); the invoice applies the payment, asking the provider, and mails the confirmation.

Latencies: ``notification`` (the ``payment_notification`` call: the signature checked, the
store asked, the signal sent) and ``paid``, the interactive step: from the notification until
the "paid" mail arrived (the payment applied in the store, the invoice paid). The issue and
the invoice mail before it are in the iteration but not timed apart. The bare side records the
same names: the ``payment`` signal, and the second message of its deliver activity.

The worker and the bench share the sandbox provider's ledger (a folder of the run and its
signing key, ``EBOK_PAYMENTS_SANDBOX_DIR`` and ``_KEY``). Every invoice ends paid.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

from adapters.payments.sandbox import SandboxPayments
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
from bench.inbox import Arrival, Mailbox
from bench.scenarios import Scenario, register
from bench.scenarios.billing import MAIL_TIMEOUT, SETTLE, _invoice, _load, terminate
from bench.scenarios.linking import _customers
from ebok.codec import new_key
from ebok.models import invoice as m
from ebok.store.db import Store
from facade.client import EbokClient


async def _within(mail: asyncio.Future[Arrival], what: str) -> Arrival:
    try:
        async with asyncio.timeout(MAIL_TIMEOUT):
            return await mail
    except TimeoutError:
        raise AssertionError(f"no {what} within {MAIL_TIMEOUT:.0f} s") from None


@contextlib.asynccontextmanager
async def ours(
    stack: Stack, planned: int, worker: WorkerStarter = our_worker
) -> AsyncIterator[Running]:
    customers = _customers(f"pay{stack.tag}", planned)
    invoices = [_invoice(c, stack.tag, i) for i, c in enumerate(customers)]
    ids = [m.workflow_id(str(inv["number"])) for inv in invoices]
    with tempfile.TemporaryDirectory(prefix="ebok-bench-payments-") as folder:
        settings = stack.settings(
            payments_adapter="sandbox",
            payments_sandbox_dir=Path(folder),
            payments_sandbox_key=new_key(),
        )
        provider = SandboxPayments.from_settings(settings)  # the customer's side of it
        # The facade gets its own pool, as the portal's back end would have beside the worker.
        store = Store.from_settings(settings)
        try:
            await _load(store, customers)
            async with Mailbox(stack.smtpd) as mailbox, worker(stack, settings) as pids:
                facade = EbokClient(stack.client, store, settings)

                async def one(i: int, timings: Timings) -> str:
                    c, number = customers[i], str(invoices[i]["number"])
                    mail = mailbox.expect(c.email)
                    workflow_id = await facade.issue_invoice(invoices[i])
                    await _within(mail, f"e-invoice for workflow {workflow_id}")
                    thanks = mailbox.expect(c.email)
                    body, headers = await provider.complete(m.payment_key(number))
                    began = time.perf_counter()
                    with timings.measure("notification"):
                        answer = await facade.payment_notification(body, headers)
                    if answer.outcome != "signalled":
                        raise AssertionError(f"payment {i}: notification {answer.outcome}")
                    arrived = await _within(thanks, f"paid mail for workflow {workflow_id}")
                    timings.add("paid", arrived.at - began)
                    return workflow_id

                async def cleanup() -> None:
                    await terminate(stack.client, ids, "bench run over")

                yield Running(one, pids, cleanup)
                await asyncio.sleep(SETTLE)
        finally:
            await provider.aclose()
            await store.aclose()


@contextlib.asynccontextmanager
async def mirror(stack: Stack, planned: int) -> AsyncIterator[Running]:
    """Our driver and activities, the bare mirror's workflow code (``bench.mirror_worker``)."""
    async with ours(stack, planned, mirror_worker) as running:
        yield running


@contextlib.asynccontextmanager
async def bare(stack: Stack, planned: int) -> AsyncIterator[Running]:
    ids = [f"bench-bare-payment-{stack.tag}-{i}" for i in range(planned)]
    async with bare_worker(stack) as worker:

        async def one(i: int, timings: Timings) -> str:
            workflow_id = ids[i]
            key = BareKey(key=workflow_id)
            mail = worker.inbox.expect(workflow_id)
            handle = await stack.client.start_workflow(
                BareInvoice.run, key, id=workflow_id, task_queue=worker.task_queue
            )
            await _within(mail, f"deliver message for workflow {workflow_id}")
            thanks = worker.inbox.expect(workflow_id)
            began = time.perf_counter()
            with timings.measure("notification"):
                await handle.signal(BareInvoice.payment, key)
            arrived = await _within(thanks, f"paid message for workflow {workflow_id}")
            timings.add("paid", arrived.at - began)
            return workflow_id

        async def cleanup() -> None:
            await terminate(stack.client, ids, "bench run over")

        yield Running(one, worker.pids, cleanup)
        await asyncio.sleep(SETTLE)


register(
    Scenario(
        name="payment",
        unit="payments",
        ours=ours,
        mirror=mirror,
        bare=bare,
        latencies=("notification", "paid"),
        description="an e-invoice paid online: the provider's notification until the paid mail",
    )
)
