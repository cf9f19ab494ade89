"""PayU's notifications over HTTP to the webhook receiver, with the PayU adapter against a local
server speaking its API: a payment held for confirmation is taken when it pays what is due and
refused when it does not; a signed notification of an order made elsewhere is answered 200 and
listed for staff. Real Temporal, real store (both databases), real SMTP."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from adapters.payments.payu import SERVER_MADE_ORDER_IP, PayUPayments
from adapters.testing import sample_payment
from ebok.models import invoice as m
from ebok.money import Money
from ebok.settings import Settings
from ebok.store.db import Store
from entrypoints.devsmtp import DevSmtpServer
from entrypoints.webhooks.payments import run_webhooks
from facade.client import EbokClient
from tests.adapters.payments.payu_server import PayUServer
from tests.conftest import make_settings, worker_for
from tests.workflows.invoices import an_invoice

CUSTOMER_IP = "2001:db8::7"  # the customer asking for a link, as the portal saw them


@dataclass
class PayU:
    """PayU's side and ours: its server, the facade and worker set to use it, the receiver."""

    server: PayUServer
    settings: Settings
    ebok: EbokClient
    provider: PayUPayments  # the worker's
    notify_url: str

    async def notify(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        async with httpx.AsyncClient(timeout=30) as http:
            return await http.post(self.notify_url, content=body, headers=headers)

    def order_of(self, key: str) -> dict[str, Any]:
        (order,) = [o for o in self.server.orders.values() if o.get("extOrderId") == key]
        return order


@pytest_asyncio.fixture(loop_scope="session")
async def payu(
    env: WorkflowEnvironment, db_url: str, store: Store, smtpd: DevSmtpServer
) -> AsyncIterator[PayU]:
    async with PayUServer() as server:
        credentials = {f"payu_{k}": v for k, v in server.credentials().items()}
        settings = make_settings(
            db_url,
            smtpd.port,
            payments_adapter="payu",
            payu_url=server.url,
            payu_notify_url="https://ebok.test/payments/payu/notify",
            **credentials,
        )
        ebok = EbokClient(env.client, store, settings)
        provider = PayUPayments.from_settings(settings)
        runner = await run_webhooks(ebok, "payu", "127.0.0.1", 0)
        host, port = runner.addresses[0][:2]
        try:
            yield PayU(
                server, settings, ebok, provider, f"http://{host}:{port}/payments/payu/notify"
            )
        finally:
            await runner.cleanup()
            await provider.aclose()
            await ebok.payments_adapter().aclose()


async def test_a_held_payment_of_what_is_due_is_taken(
    env: WorkflowEnvironment, store: Store, smtpd: DevSmtpServer, payu: PayU
) -> None:
    billed = await an_invoice(store)
    handle = env.client.get_workflow_handle(billed.workflow_id, result_type=m.InvoiceStatus)
    async with worker_for(env.client, payu.settings, store, payments=payu.provider):
        await payu.ebok.issue_invoice(billed.invoice)
        await smtpd.wait_for(1)  # the e-invoice, with the link the workflow made
        mailed = payu.order_of(m.payment_key(billed.number))
        # Made by the engine, no customer present: PayU's documented stand-in address.
        assert mailed["customerIp"] == SERVER_MADE_ORDER_IP
        ref = mailed["orderId"]
        payu.server.set_status(ref, "WAITING_FOR_CONFIRMATION")  # the POS does not auto-receive
        answer = await payu.notify(*payu.server.notification(ref))
        assert answer.status_code == 200
        assert answer.json() == {
            "outcome": "captured",
            "invoice_number": billed.number,
            "detail": "",
        }
        assert payu.server.orders[ref]["status"] == "COMPLETED"
        capture = [r for r in payu.server.requests if r.method == "PUT"]
        assert [(r.path, r.json()) for r in capture] == [
            (f"/api/v2_1/orders/{ref}/status", {"orderId": ref, "orderStatus": "COMPLETED"})
        ]
        done = await handle.result()
        # PayU's retry of the held notification, and its COMPLETED one: nothing twice.
        for status in ("WAITING_FOR_CONFIRMATION", "COMPLETED"):
            retry = await payu.notify(*payu.server.notification(ref, status=status))
            assert (retry.status_code, retry.json()["outcome"]) == (200, "duplicate")
    assert done.state is m.State.PAID and done.paid == Money(24567) and done.payments == 1
    assert len([r for r in payu.server.requests if r.method == "PUT"]) == 1
    async with store.begin() as uow:
        events = [e for e, *_ in await uow.invoices.events(billed.number)]
    assert f"provider:capture:{ref}" in events


async def test_a_held_payment_of_the_wrong_amount_is_refused(
    env: WorkflowEnvironment, store: Store, smtpd: DevSmtpServer, payu: PayU
) -> None:
    billed = await an_invoice(store)
    handle = env.client.get_workflow_handle(billed.workflow_id, result_type=m.InvoiceStatus)
    async with worker_for(env.client, payu.settings, store, payments=payu.provider):
        await payu.ebok.issue_invoice(billed.invoice)
        await smtpd.wait_for(1)
        mailed = payu.order_of(m.payment_key(billed.number))["orderId"]
        # Part paid by transfer meanwhile: the mailed link's 245,67 zł is no longer what is due.
        await payu.ebok.record_payment(billed.number, "BNK-7", "100,00", "anna.k")
        payu.server.set_status(mailed, "WAITING_FOR_CONFIRMATION")
        answer = await payu.notify(*payu.server.notification(mailed))
        assert answer.status_code == 200
        assert answer.json()["outcome"] == "cancelled"
        assert "24567 grosze held, 14567 grosze left to pay" in answer.json()["detail"]
        assert payu.server.orders[mailed]["status"] == "CANCELED"
        assert ("DELETE", f"/api/v2_1/orders/{mailed}") in [
            (r.method, r.path) for r in payu.server.requests
        ]
        # PayU then says CANCELED: nothing to apply. The rest is paid through a new link.
        gone = await payu.notify(*payu.server.notification(mailed))
        assert gone.json() == {
            "outcome": "ignored",
            "invoice_number": billed.number,
            "detail": "canceled",
        }
        link = await payu.ebok.pay_online(billed.number, customer_ip=CUSTOMER_IP)
        assert link.amount == Money(14567)
        (rest,) = [o for o in payu.server.orders.values() if o["orderId"] != mailed]
        assert rest["customerIp"] == CUSTOMER_IP and rest["totalAmount"] == "14567"
        payu.server.set_status(rest["orderId"], "WAITING_FOR_CONFIRMATION")
        taken = await payu.notify(*payu.server.notification(rest["orderId"]))
        assert taken.json()["outcome"] == "captured"
        done = await handle.result()
    assert done.state is m.State.PAID and done.paid == Money(24567) and done.payments == 2
    async with store.begin() as uow:
        events = [e for e, *_ in await uow.invoices.events(billed.number)]
    assert f"provider:cancel:{mailed}" in events
    assert f"provider:capture:{rest['orderId']}" in events


def _without_key(body: bytes) -> bytes:
    document = json.loads(body)
    del document["order"]["extOrderId"]
    return json.dumps(document).encode()


async def test_a_signed_order_made_elsewhere_is_listed_for_staff(payu: PayU) -> None:
    start = datetime.now(UTC)
    # Orders PayU knows that the engine never made: one from PayU's panel (no extOrderId) and
    # one from another shop system on the same point of sale (its own extOrderId).
    elsewhere = await payu.provider.create_payment(sample_payment())
    foreign = await payu.provider.create_payment(sample_payment(key="shop-42-order-7"))
    for ref in (elsewhere.provider_ref, foreign.provider_ref):
        payu.server.set_status(ref, "COMPLETED")
    body = _without_key(payu.server.notification(elsewhere.provider_ref)[0])
    signed = {"OpenPayU-Signature": payu.server.sign(body, "SHA-256")}
    for _ in range(2):  # PayU's retry: answered the same, listed once
        answer = await payu.notify(body, signed)
        assert answer.status_code == 200
        assert answer.json() == {
            "outcome": "unmatched",
            "invoice_number": "",
            "detail": "no extOrderId",
        }
    answer = await payu.notify(*payu.server.notification(foreign.provider_ref))
    assert answer.status_code == 200 and answer.json()["outcome"] == "unmatched"
    # Not yet paid: nothing for staff to book, and nothing of ours to capture or cancel.
    payu.server.set_status(foreign.provider_ref, "WAITING_FOR_CONFIRMATION")
    waiting = await payu.notify(*payu.server.notification(foreign.provider_ref))
    assert waiting.status_code == 200 and waiting.json()["outcome"] == "ignored"
    assert payu.server.orders[foreign.provider_ref]["status"] == "WAITING_FOR_CONFIRMATION"
    # Forged: still refused, and not listed.
    forged = body.replace(b"24567", b"99999")
    refused = await payu.notify(forged, signed)
    assert refused.status_code == 400 and refused.json() == {"error": "signature does not match"}
    ours = {elsewhere.provider_ref, foreign.provider_ref}
    listed = [p for p in await payu.ebok.payments_to_book(since=start) if p.reference in ours]
    assert [(p.source, p.reference, p.amount, p.why) for p in listed] == [
        (
            "provider",
            elsewhere.provider_ref,
            Money(24567),
            "no extOrderId: an order made elsewhere",
        ),
        (
            "provider",
            foreign.provider_ref,
            Money(24567),
            "extOrderId is no key of ours: an order made elsewhere",
        ),
    ]
    assert all(p.received_at is not None for p in listed)
