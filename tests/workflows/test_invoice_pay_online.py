"""Paying what is left online: after a partial payment, a correction, or for a paper customer,
the facade makes a pay-online link for the outstanding amount; the provider's notification for
it settles the invoice like the mailed link's would. Time-skipping server, real store (both
databases), real SMTP, the sandbox payments adapter."""

from __future__ import annotations

import pytest
from temporalio.testing import WorkflowEnvironment

from adapters.payments.sandbox import SandboxPayments
from ebok.errors import InvalidInput, NotFound, WrongState
from ebok.models import invoice as m
from ebok.money import Money
from ebok.settings import Settings
from ebok.store.db import Store
from entrypoints.devsmtp import DevSmtpServer
from facade.client import EbokClient
from tests.conftest import worker_for
from tests.timeskip import outcome
from tests.workflows.invoices import an_invoice, delivered, pay_online, pay_reference

SANDBOX_LINK = "https://sandbox-payments.invalid/pay/"
IP = "203.0.113.7"  # the customer's address, as the portal saw it


def reference_of(link: m.PaymentLink) -> str:
    assert link.url.startswith(SANDBOX_LINK), link.url
    return link.url.removeprefix(SANDBOX_LINK)


async def test_the_rest_after_a_partial_payment_is_paid_online(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok: EbokClient,
    sandbox: SandboxPayments,
) -> None:
    billed = await an_invoice(store, gross=10000)
    async with worker_for(skipping_env.client, settings, store):
        await ebok.issue_invoice(billed.invoice)
        (mail,) = await smtpd.wait_for(1)
        mailed = await ebok.pay_online(billed.number, customer_ip=IP)
        assert mailed.amount == Money(10000)
        assert reference_of(mailed) == pay_reference(mail)  # untouched: the mailed link
        await ebok.record_payment(billed.number, "KASA-7", "40,00", "anna.k")
        rest = await ebok.pay_online(billed.number, customer_ip=IP)
        assert rest.amount == Money(6000) and rest.url != mailed.url
        again = await ebok.pay_online(billed.number, "en", customer_ip=IP)
        assert again == rest  # asked again: the same
        assert await pay_online(ebok, sandbox, reference_of(rest)) == "signalled"
        done = await outcome(skipping_env, billed.workflow_id, m.InvoiceStatus)
        with pytest.raises(WrongState, match="paid"):
            await ebok.pay_online(billed.number, customer_ip=IP)
    assert done.state is m.State.PAID and done.payments == 2
    assert done.paid == Money(10000) and done.credit == Money.ZERO
    async with store.begin() as uow:
        sources = sorted(p.source for p in await uow.invoices.payments_of([billed.number]))
    assert sources == ["provider", "staff"]


async def test_a_paper_customer_gets_a_link_for_the_corrected_amount(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok: EbokClient,
    sandbox: SandboxPayments,
) -> None:
    billed = await an_invoice(store, gross=24567, consent=False)
    async with worker_for(skipping_env.client, settings, store):
        await ebok.issue_invoice(billed.invoice)
        await delivered(skipping_env.client, billed.number)
        first = await ebok.pay_online(billed.number, customer_ip=IP)
        assert first.amount == Money(24567)
        corrected = await ebok.correct_invoice(
            billed.number, "FK/2026/12/0001", 20000, "odczyt licznika", "anna.k"
        )
        assert corrected.amount_due == Money(20000)
        link = await ebok.pay_online(billed.number, customer_ip=IP)
        assert link.amount == Money(20000) and link.url != first.url
        assert await pay_online(ebok, sandbox, reference_of(link)) == "signalled"
        done = await outcome(skipping_env, billed.workflow_id, m.InvoiceStatus)
    assert done.state is m.State.PAID and done.paid == Money(20000)
    assert done.credit == Money.ZERO and done.delivery == "paper"


async def test_no_link_for_what_cannot_be_paid(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok: EbokClient,
) -> None:
    with pytest.raises(InvalidInput) as bad:
        await ebok.pay_online("no spaces allowed", customer_ip=IP)
    assert set(bad.value.errors) == {"number"}
    with pytest.raises(NotFound):
        await ebok.pay_online("FV/2026/12/NEVER", customer_ip=IP)
    for not_an_address in ("", "localhost", "203.0.113.7:443", "10.0.0.0/8", "::g"):
        with pytest.raises(InvalidInput) as bad:
            await ebok.pay_online("FV/2026/12/NEVER", customer_ip=not_an_address)
        assert bad.value.errors == {"customer_ip": "is not an IPv4 or IPv6 address"}
    billed = await an_invoice(store)
    async with worker_for(skipping_env.client, settings, store):
        await ebok.issue_invoice(billed.invoice)
        await smtpd.wait_for(1)
        await ebok.cancel_invoice(billed.number, "wystawiona omyłkowo", "anna.k")
        await outcome(skipping_env, billed.workflow_id, m.InvoiceStatus)
        with pytest.raises(WrongState, match="cancelled"):
            await ebok.pay_online(billed.number, customer_ip=IP)
    async with store.begin() as uow:
        assert await uow.invoices.pay_link(m.remainder_key(billed.number, 24567, 0, 0)) is None
