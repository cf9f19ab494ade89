"""The other process families over HTTP: an invoice issued, paid by a bank statement and shown
in the balance; a partner-link attempt; an outage report; an e-invoice consent. Plain HTTP
calls; the test's own set-up (billing data, the sandbox DSO) and waiting for a workflow use the
store and Temporal."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from temporalio.testing import WorkflowEnvironment

from adapters.operator.sandbox import SandboxOperator
from ebok.models import invoice as m
from ebok.models.einvoice import CONFIRM_PAGE
from ebok.store.db import Store
from entrypoints.devsmtp import DevSmtpServer
from tests.api.conftest import Api
from tests.conftest import worker_for
from tests.factories import a_linked_account, a_partner, an_account
from tests.mailbox import body
from tests.workflows.invoices import an_invoice, delivered
from tests.workflows.outage_world import World, an_area

pytestmark = pytest.mark.asyncio(loop_scope="session")


def fields(answer: dict[str, object]) -> dict[str, str]:
    errors = answer["errors"]
    assert isinstance(errors, list)
    return {e["field"]: e["message"] for e in errors}


async def test_issue_pay_by_statement_and_balance(
    api: Api, env: WorkflowEnvironment, store: Store
) -> None:
    billed = await an_invoice(store, consent=False, gross=12345)
    invoice = json.loads(json.dumps(billed.invoice, default=str))
    today = datetime.now(UTC).date().isoformat()
    statement = (
        "booking_date,amount,currency,target_account,sender_account,sender_name,title,"
        f'bank_reference\n{today},"123,45",PLN,{billed.invoice["nrb"]},,Jan K,'
        f"{billed.number},BNK-API-{billed.number[-8:]}\n"
    )
    handle = env.client.get_workflow_handle(billed.workflow_id, result_type=m.InvoiceStatus)
    http = await api.client("invoices", "payments")
    async with worker_for(env.client, api.settings, store), http:
        bad = await http.post("/v1/invoices", json={**invoice, "gross": 1})
        assert bad.status_code == 422
        assert fields(bad.json())["gross"] == "must equal net + vat"  # as the CLI says it
        issued = await http.post("/v1/invoices", json=invoice)
        assert issued.status_code == 201, issued.text
        assert issued.json() == {"workflow_id": billed.workflow_id}
        again = await http.post("/v1/invoices", json=invoice)  # the same invoice
        assert again.json() == {"workflow_id": billed.workflow_id}

        shown = await http.get(f"/v1/invoices/{billed.number}")  # the number has slashes
        assert shown.status_code == 200 and shown.json()["number"] == billed.number
        await delivered(env.client, billed.number)
        link = f"/v1/invoices/{billed.number}/payment-link"
        odd_ip = await http.post(link, json={"customer_ip": "localhost"})
        assert fields(odd_ip.json()) == {"customer_ip": "is not an IPv4 or IPv6 address"}
        pay = await http.post(link, json={"customer_ip": "203.0.113.7"})
        assert pay.status_code == 200, pay.text
        assert pay.json()["url"].startswith("https://sandbox-payments.invalid/pay/")

        imported = await http.post(
            "/v1/bank-statements", content=statement, headers={"Content-Type": "text/csv"}
        )
        assert imported.status_code == 200, imported.text
        assert len(imported.json()["signalled"]) == 1
        done = await asyncio.wait_for(handle.result(), timeout=30)
        assert done.state is m.State.PAID
        paid = await http.post(link, json={"customer_ip": "2001:db8::1"})
        assert paid.status_code == 409 and "nothing to pay" in paid.json()["detail"]

        balance = await http.get(f"/v1/partners/{billed.partner.number}/balance")
        assert balance.status_code == 200
        (account,) = balance.json()["accounts"]
        assert account["outstanding"] == 0 and account["payments"][0]["amount"] == 12345


async def test_partner_link_attempts(
    api: Api, env: WorkflowEnvironment, store: Store, smtpd: DevSmtpServer
) -> None:
    partner = await a_partner(store)
    account, email = await an_account(store)
    invoice, gross = partner.invoices[0]
    operator = SandboxOperator(partner.registry)
    attempts = f"/v1/accounts/{account}/partner-link/attempts"
    http = await api.client("linking")
    async with worker_for(env.client, api.settings, store, operator=operator), http:
        wrong = {"partner_number": partner.number, "invoice_number": invoice, "gross": "1,00"}
        missed = await http.post(attempts, json=wrong)
        assert missed.status_code == 200 and missed.json()["outcome"] == "no_match"
        both = {"partner_number": partner.number, "ppe": partner.ppes[0], "gross": "1,00"}
        assert (await http.post(attempts, json=both)).status_code == 422
        right = {"partner_number": partner.number, "invoice_number": invoice, "gross": gross}
        checking = await http.post(attempts, json=right)
        assert checking.json()["outcome"] == "checking"
        await smtpd.wait_for(1)
        assert smtpd.messages[0]["To"] == email
        status = await http.get(f"/v1/accounts/{account}/partner-link")
        assert status.status_code == 200 and status.json()["account_id"] == account


async def test_outage_report_status_and_info(
    api: Api, env: WorkflowEnvironment, store: Store
) -> None:
    world = World(store)
    (point,) = await world.points(an_area())
    http = await api.client("outages")
    async with worker_for(env.client, api.settings, store, operator=world.operator), http:
        odd = {"ppe": "590380100001001379", "description": "x y z", "email": point.email}
        refused = await http.post("/v1/outage-reports", json=odd)
        assert refused.status_code == 422 and "ppe" in fields(refused.json())
        report = {"ppe": point.ppe, "description": "Brak prądu", "email": point.email}
        made = await http.post("/v1/outage-reports", json=report)
        assert made.status_code == 201, made.text
        assert made.json()["duplicate"] is False
        report_id = made.json()["report_id"]
        again = await http.post("/v1/outage-reports", json=report)
        assert again.json()["report_id"] == report_id and again.json()["duplicate"] is True

        shown = await http.get(f"/v1/outage-reports/{report_id}")
        assert shown.status_code == 200 and shown.json()["report"]["report_id"] == report_id
        noted = await http.post(
            f"/v1/outage-reports/{report_id}/notes", json={"text": "cała ulica bez prądu"}
        )
        assert noted.status_code == 200, noted.text


async def test_einvoice_request_confirm_withdraw(
    api: Api, env: WorkflowEnvironment, store: Store, smtpd: DevSmtpServer
) -> None:
    account, email, partner = await a_linked_account(store)
    other = await a_partner(store)
    http = await api.client("einvoice")
    consent = f"/v1/partners/{partner.number}/einvoice"
    request = {"account_id": account, "terms_version": "2026-01"}
    async with worker_for(env.client, api.settings, store), http:
        not_theirs = await http.post(f"/v1/partners/{other.number}/einvoice", json=request)
        assert not_theirs.status_code == 422 and "partner_number" in fields(not_theirs.json())
        pending = await http.post(consent, json=request)
        assert pending.status_code == 200, pending.text
        too_soon = await http.post(consent + "/resend", json={})
        assert too_soon.status_code == 429 and int(too_soon.headers["retry-after"]) >= 1

        (mail,) = await smtpd.wait_for(1)
        assert mail["To"] == email
        link = next(w for w in body(mail).split() if CONFIRM_PAGE in w)
        token = parse_qs(urlsplit(link).query)["token"][0]
        confirmed = await http.post("/v1/einvoice-confirmations", json={"token": token})
        assert confirmed.json() == {"outcome": "active"}
        again = await http.post("/v1/einvoice-confirmations", json={"token": token})
        assert again.json() == {"outcome": "already_used"}

        status = await http.get(consent)
        assert status.status_code == 200 and status.json()["state"] == "active"
        withdrawn = await http.post(
            consent + "/withdraw", json={"channel": "staff", "by": "anna.b", "reason": "phoned"}
        )
        assert withdrawn.status_code == 200 and withdrawn.json()["state"] == "withdrawn"
        await smtpd.wait_for(3)
        history = await http.get(consent + "/consents")
        (record,) = history.json()
        assert record["account_id"] == account and record["withdrawn_at"] is not None
