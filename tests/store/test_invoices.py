"""The invoice lifecycle's store on SQLite and PostgreSQL: natural keys make every write once."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from ebok.store.db import Store
from ebok.store.invoices import PaymentRecord, UnknownAccount, UnmatchedPayment
from ebok.store.letters import Suspension
from tests.factories import a_partner


async def issued(store: Store, gross: int = 10000) -> tuple[str, dict[str, Any]]:
    partner = await a_partner(store)
    async with store.begin() as uow:
        (ppe,) = await uow.billing.ppes_of_partner(partner.number)
    number = partner.invoices[0][0]  # known from the billing import: gains its lifecycle
    values = {
        "number": number,
        "partner_number": partner.number,
        "contract_account": ppe.contract_account,
        "gross_grosze": gross,
        "issue_date": date(2026, 12, 1),
        "due_date": date(2026, 12, 15),
        "nrb": "75109010140000001000000101",
        "net_grosze": 8130,
        "vat_grosze": 1870,
        "lines": {"period": ["2026-11-01", "2026-11-30"], "items": []},
        "ppe": ppe.ppe,
        "correction_of": None,
    }
    async with store.begin() as uow:
        assert await uow.invoices.issue(values, datetime.now(UTC))
    return number, values


async def test_issuing_twice_is_one_invoice_and_keeps_its_state(store: Store) -> None:
    number, values = await issued(store)
    now = datetime.now(UTC)
    async with store.begin() as uow:
        await uow.invoices.set_state(number, "overdue", now)
        assert not await uow.invoices.issue({**values, "gross_grosze": 1}, now)
        invoice = await uow.invoices.get(number)
    assert invoice is not None and invoice.state == "overdue" and invoice.gross_grosze == 10000
    assert invoice.managed and invoice.lines == values["lines"]


async def test_unknown_or_foreign_contract_account_is_refused(store: Store) -> None:
    _, values = await issued(store)
    other = await a_partner(store)
    with pytest.raises(UnknownAccount):
        async with store.begin() as uow:
            await uow.invoices.issue(
                {**values, "number": "FV/X/1", "partner_number": other.number},
                datetime.now(UTC),
            )
    async with store.begin() as uow:
        assert await uow.invoices.get("FV/X/1") is None


async def test_a_payment_counts_once_and_overpayment_is_a_credit(store: Store) -> None:
    number, values = await issued(store)
    now = datetime.now(UTC)
    pay = PaymentRecord("bank", f"B-{number}", number, 7000, now)
    async with store.begin() as uow:
        assert await uow.invoices.add_payment(pay, now, None)
        assert not await uow.invoices.add_payment(pay, now, None)
        assert (await uow.invoices.standing(number, now)).paid == 7000
        more = PaymentRecord("staff", f"S-{number}", number, 5000, now)
        assert await uow.invoices.add_payment(more, now, "anna")
        standing = await uow.invoices.standing(number, now)
        again = await uow.invoices.standing(number, now)
        credits = await uow.invoices.credits_of_partner(values["partner_number"])
    assert standing == again and standing.credit == 2000 and standing.paid == 12000
    assert credits == {values["contract_account"]: 2000}
    async with store.begin() as uow:
        await uow.invoices.set_amount_due(number, 12000, now)  # corrected upwards
        assert (await uow.invoices.standing(number, now)).credit == 0
        assert await uow.invoices.credits_of_partner(values["partner_number"]) == {}


async def test_a_payment_to_book_by_hand_is_listed_once(store: Store) -> None:
    start = datetime.now(UTC)
    ref = f"ORDER{uuid.uuid4().hex[:12].upper()}"
    first = UnmatchedPayment("provider", ref, 24567, "no extOrderId", start, start)
    async with store.begin() as uow:
        assert await uow.invoices.note_unmatched(first)
    # The provider's retry, a minute later: listed as it was first.
    again = UnmatchedPayment("provider", ref, 24567, "x" * 300, None, start + timedelta(minutes=1))
    bank = UnmatchedPayment("bank", ref, 100, "y" * 300, None, start + timedelta(minutes=2))
    async with store.begin() as uow:
        assert not await uow.invoices.note_unmatched(again)
        assert await uow.invoices.note_unmatched(bank)  # the same reference from another source
        listed = [u for u in await uow.invoices.unmatched(since=start) if u.reference == ref]
    assert listed == [first, dataclasses.replace(bank, why="y" * 200)]
    async with store.begin() as uow:
        later = await uow.invoices.unmatched(since=start + timedelta(minutes=3))
    assert ref not in {u.reference for u in later}


async def test_audit_rows_once_and_in_order(store: Store) -> None:
    number, _ = await issued(store)
    t = datetime.now(UTC)
    async with store.begin() as uow:
        assert await uow.invoices.log(number, "issued", "issued", "", "billing", t)
        assert not await uow.invoices.log(number, "issued", "issued", "again", "billing", t)
        await uow.invoices.log(number, "correction:FK/1", "open", "x" * 600, "ewa",
                               t + timedelta(seconds=1))  # fmt: skip
        events = await uow.invoices.events(number)
    assert [e[0] for e in events] == ["issued", "correction:FK/1"]
    assert events[0][3] == "" and len(events[1][3]) == 500


async def test_paper_letters_export_once(store: Store) -> None:
    number, values = await issued(store)
    t = datetime.now(UTC)
    async with store.begin() as uow:
        assert await uow.paper.queue(f"{number}:issued:1", number, values["partner_number"],
                                     "issued", {"outstanding_grosze": 10000}, t)  # fmt: skip
        assert not await uow.paper.queue(f"{number}:issued:1", number, values["partner_number"],
                                         "issued", {}, t)  # fmt: skip
    async with store.begin() as uow:
        first = [x for x in await uow.paper.take_unexported(t) if x.invoice_number == number]
    async with store.begin() as uow:
        second = [x for x in await uow.paper.take_unexported(t) if x.invoice_number == number]
    assert [x.details for x in first] == [{"outstanding_grosze": 10000}] and second == []
    assert first[0].partner_name == "Klient Testowy"


async def test_suspension_recorded_once_and_withdrawn_once(store: Store) -> None:
    number, values = await issued(store)
    t = datetime.now(UTC)
    s = Suspension(f"{number}:1:{values['ppe']}", number, values["ppe"], "SUS-1", t,
                   t + timedelta(days=14), t, None, None)  # fmt: skip
    async with store.begin() as uow:
        await uow.suspensions.record(s)
        await uow.suspensions.record(s)
        await uow.suspensions.withdrawn(s.key, t, "paid")
        await uow.suspensions.withdrawn(s.key, t + timedelta(days=1), "complaint")
        (row,) = await uow.suspensions.of_invoice(number)
    assert row.withdrawn_reason == "paid" and row.withdrawn_at == t
