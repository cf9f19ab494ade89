"""Shared pieces of the invoice lifecycle tests: a fresh invoice for a fresh partner, paying it
through the sandbox provider, and reading the store and the history."""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from adapters.payments.sandbox import SandboxPayments
from ebok.models import invoice as m
from ebok.store.consents import Consent
from ebok.store.db import Store
from facade.bank_statement import individual_nrb
from facade.client import EbokClient
from tests.factories import Partner, a_partner
from tests.mailbox import body

BANK = "10901014"  # a settlement number with a valid check digit
_PAY_LINK = re.compile(r"https://sandbox-payments\.invalid/pay/(\S+)")


@dataclass
class Billed:
    partner: Partner
    contract_account: str
    email: str | None
    invoice: dict[str, Any]

    @property
    def number(self) -> str:
        return str(self.invoice["number"])

    @property
    def workflow_id(self) -> str:
        return m.workflow_id(self.number)


def lines(gross: int) -> list[dict[str, Any]]:
    """Lines adding up to ``gross`` grosze: energy at 23% VAT (rounded half up to the grosz),
    and, where that cannot hit the total exactly, a VAT-exempt remainder."""
    for net in range(gross * 100 // 123 - 2, gross * 100 // 123 + 3):
        if net + (net * 23 + 50) // 100 == gross:
            return [_line("Energia czynna, taryfa G11", net, 23)]
    net = (gross - 1) * 100 // 123
    first = _line("Energia czynna, taryfa G11", net, 23)
    return [first, _line("Opłata zwolniona z VAT", gross - first["gross"], 0)]


def _line(description: str, net: int, rate: int) -> dict[str, Any]:
    vat = (net * rate + 50) // 100
    return {
        "description": description,
        "quantity": "150.5",
        "unit": "kWh",
        "net": net,
        "vat_rate": rate,
        "vat": vat,
        "gross": net + vat,
    }


async def an_invoice(
    store: Store,
    *,
    gross: int = 24567,
    consent: bool = True,
    issued: date | None = None,
    due_in: int = 14,
    partner: Partner | None = None,
    business: bool = False,
) -> Billed:
    """A fresh invoice, for a fresh partner unless ``partner`` is given (then its first PPE)."""
    partner = partner or await a_partner(store, business=business)
    async with store.begin() as uow:
        ppe = (await uow.billing.ppes_of_partner(partner.number))[0]
    email = f"klient.{uuid.uuid4().hex[:8]}@example.pl" if consent else None
    if email:
        now = datetime.now(UTC)
        async with store.begin() as uow:
            await uow.consents.grant(
                Consent(
                    uuid.uuid4().hex,
                    partner.number,
                    uuid.uuid4().hex,
                    email,
                    "pl",
                    "2026-01",
                    "web",
                    now,
                    now,
                    None,
                    None,
                )
            )
    day = issued or datetime.now(UTC).date()
    items = lines(gross)
    invoice = {
        "number": f"FV/2026/12/{uuid.uuid4().int % 10**8:08d}",
        "partner_number": partner.number,
        "contract_account": ppe.contract_account,
        "ppe": ppe.ppe,
        "lines": items,
        "net": sum(x["net"] for x in items),
        "vat": sum(x["vat"] for x in items),
        "gross": gross,
        "issue_date": day,
        "due_date": day + timedelta(days=due_in),
        "nrb": individual_nrb(BANK, partner.number),
    }
    return Billed(partner, ppe.contract_account, email, invoice)


def pay_reference(mail: EmailMessage) -> str:
    found = _PAY_LINK.search(body(mail))
    assert found, "no pay-online link in the e-invoice"
    return found.group(1)


async def pay_online(ebok: EbokClient, sandbox: SandboxPayments, ref: str) -> str:
    note_body, headers = await sandbox.complete(ref)
    return (await ebok.payment_notification(note_body, headers)).outcome


async def delivered(client: Client, number: str, channel: str = "paper") -> None:
    """Wait until the invoice's delivery is recorded (then the store has the invoice)."""
    handle = client.get_workflow_handle(m.workflow_id(number))
    for _ in range(400):
        if (await handle.query("status", result_type=m.InvoiceStatus)).delivery == channel:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"invoice {number} never delivered by {channel}")


async def event_count(client: Client, workflow_id: str) -> int:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return len(history.events)


async def activity_count(client: Client, workflow_id: str, name: str) -> int:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return sum(
        1
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.activity_task_scheduled_event_attributes.activity_type.name == name
    )
