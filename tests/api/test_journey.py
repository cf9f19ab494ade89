"""A customer's whole journey over HTTP only, as a back end in any language drives it:
registration → activation → partner link → e-invoice consent → an invoice by e-mail → paid
online → balance → an outage report. Every step is a plain HTTP call with a JSON body; the
links are read from the mails the SMTP server received, and the payment provider's signed
notification is posted to the webhook as the provider posts it. Only the test's set-up (the
partner in billing and at the DSO) and the provider's side use Python objects."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Awaitable, Callable
from email.message import EmailMessage
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from adapters.operator.sandbox import SandboxOperator
from adapters.payments.sandbox import SandboxPayments
from ebok.store.db import Store
from entrypoints.devsmtp import DevSmtpServer
from tests.api.conftest import Api
from tests.conftest import worker_for
from tests.factories import a_partner
from tests.mailbox import addressed_to, body
from tests.workflows.invoices import an_invoice

pytestmark = pytest.mark.asyncio(loop_scope="session")

PASSWORD = "Zielona-Łąka-2026!"


async def until(what: str, check: Callable[[], Awaitable[Any]], timeout: float = 30) -> Any:
    """Poll ``check`` until it returns something truthy, as a client polls a status."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = await check()
        if found:
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def mail_to(smtpd: DevSmtpServer, address: str, n: int) -> list[EmailMessage]:
    async def arrived() -> list[EmailMessage]:
        found = addressed_to(smtpd.messages, address)
        return found if len(found) >= n else []

    mails: list[EmailMessage] = await until(f"{n} mail(s) to the customer", arrived)
    return mails


def token(mail: EmailMessage, page: str) -> str:
    found = re.search(rf"https://ebok\.test/{re.escape(page)}\?token=([A-Za-z0-9_\-]+)", body(mail))
    assert found, f"no {page} link in: {mail['Subject']}"
    return found.group(1)


async def test_the_whole_journey_over_http(
    api: Api, env: WorkflowEnvironment, store: Store, smtpd: DevSmtpServer
) -> None:
    partner = await a_partner(store)
    invoice_number, gross = partner.invoices[0]
    tag = uuid.uuid4().hex[:10]
    email, login = f"droga.{tag}@example.pl", f"droga.{tag}"
    sandbox = SandboxPayments.from_settings(api.settings)  # the provider's side
    operator = SandboxOperator(partner.registry)
    http = await api.client()
    async with worker_for(env.client, api.settings, store, operator=operator), http:
        # Registration and activation.
        started = await http.post("/v1/registrations", json={"email": email, "login": login})
        assert started.status_code == 201, started.text
        account = started.json()["registration_id"]
        creds = {"password": PASSWORD, "terms_version": "2026-01", "terms_accepted": True}
        put = await http.put(f"/v1/registrations/{account}/credentials", json=creds)
        assert put.status_code == 200, put.text
        (activation,) = await mail_to(smtpd, email, 1)
        activated = await http.post(
            "/v1/activations", json={"token": token(activation, "aktywacja")}
        )
        assert activated.status_code == 200, activated.text
        assert activated.json()["outcome"] == "activated"

        # The partner link, confirmed by the grid operator.
        link = f"/v1/accounts/{account}/partner-link"
        attempt = {"partner_number": partner.number, "invoice_number": invoice_number}
        checking = await http.post(f"{link}/attempts", json={**attempt, "gross": gross})
        assert checking.status_code == 200, checking.text
        assert checking.json()["outcome"] == "checking"

        async def linked() -> bool:
            shown = await http.get(link)
            return shown.status_code == 200 and shown.json()["state"] == "linked"

        await until("the partner link", linked)

        # E-invoice consent by the mailed link.
        consent = f"/v1/partners/{partner.number}/einvoice"
        asked = await http.post(consent, json={"account_id": account, "terms_version": "2026-01"})
        assert asked.status_code == 200, asked.text
        mails = await mail_to(smtpd, email, 4)  # activation, welcome, linked, confirm
        confirm = next(m for m in mails if "e-faktura/potwierdz" in body(m))
        confirmed = await http.post(
            "/v1/einvoice-confirmations", json={"token": token(confirm, "e-faktura/potwierdz")}
        )
        assert confirmed.json() == {"outcome": "active"}

        # An invoice from billing, mailed with its PDF and a pay-online link.
        amount = 31415
        billed = await an_invoice(store, consent=False, partner=partner, gross=amount)
        invoice = json.loads(json.dumps(billed.invoice, default=str))  # as billing sends it
        issued = await http.post("/v1/invoices", json=invoice)
        assert issued.status_code == 201, issued.text
        path = f"/v1/invoices/{invoice['number']}"

        async def by_email() -> bool:
            return bool((await http.get(path)).json()["delivery"] == "email")

        await until("the e-invoice", by_email)
        mails = await mail_to(smtpd, email, 5)
        (mailed,) = [m for m in mails if invoice["number"] in m["Subject"]]
        (pdf,) = [p for p in mailed.iter_attachments() if p.get_content_type() == "application/pdf"]
        assert pdf.get_content().startswith(b"%PDF-")

        # Paid online: the pay link, then the provider's signed notification to the webhook.
        pay = await http.post(f"{path}/payment-link", json={"customer_ip": "203.0.113.7"})
        assert pay.status_code == 200, pay.text
        ref = pay.json()["url"].rsplit("/", 1)[1]
        try:
            note, headers = await sandbox.complete(ref)
        finally:
            await sandbox.aclose()
        notified = await http.post("/payments/sandbox/notify", content=note, headers=headers)
        assert notified.status_code == 200, notified.text

        async def paid() -> bool:
            return bool((await http.get(path)).json()["state"] == "paid")

        await until("the invoice paid", paid)
        balance = (await http.get(f"/v1/partners/{partner.number}/balance")).json()
        (contract,) = balance["accounts"]
        assert contract["contract_account"] == billed.contract_account
        assert contract["outstanding"] == 0
        assert [p["amount"] for p in contract["payments"]] == [amount]

        # An outage at the customer's PPE.
        report = {"ppe": partner.ppes[0], "description": "Brak prądu", "account_id": account}
        made = await http.post("/v1/outage-reports", json=report)
        assert made.status_code == 201, made.text
        report_id = made.json()["report_id"]
        status = await http.get(f"/v1/outage-reports/{report_id}")
        assert status.status_code == 200 and status.json()["report"]["ppe"] == partner.ppes[0]
