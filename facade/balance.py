"""A partner's balance per contract account, from the store alone: the invoices the lifecycle
manages, the payments applied to them and the credits overpayments left."""

from __future__ import annotations

from datetime import UTC, date, datetime

from pydantic import TypeAdapter

from ebok.ids import PartnerNumber
from ebok.interest import RateTableError, late_interest
from ebok.models.balance import AccountBalance, Balance, OpenInvoice, PaymentLine
from ebok.money import Money
from ebok.settings import Settings
from ebok.store.db import Store
from ebok.store.invoices import FINAL_STATES
from facade.base import checked

__all__ = ["balance_of"]

_PARTNER: TypeAdapter[str] = TypeAdapter(PartnerNumber)


async def balance_of(
    store: Store, settings: Settings, partner_number: str, on: date | None = None
) -> Balance:
    partner = checked(_PARTNER, "partner_number", partner_number)
    day = on or datetime.now(UTC).date()
    async with store.begin() as uow:
        record = await uow.billing.partner(partner)
        invoices = await uow.invoices.of_partner(partner)
        payments = await uow.invoices.payments_of([i.number for i in invoices])
        credits = await uow.invoices.credits_of_partner(partner)
    # A business partner owes commercial-transaction interest (docs/invoice-law.md).
    business = record is not None and record.kind == "business"
    table = settings.commercial_interest_table if business else settings.late_interest_table
    paid: dict[str, int] = {}
    for p in payments:
        paid[p.invoice_number] = paid.get(p.invoice_number, 0) + p.amount_grosze
    accounts: dict[str, AccountBalance] = {}
    for account in sorted({i.contract_account for i in invoices} | set(credits)):
        accounts[account] = AccountBalance(
            contract_account=account,
            open_invoices=[],
            payments=[],
            outstanding=Money.ZERO,
            overdue=Money.ZERO,
            interest=Money.ZERO,
            credit=Money(credits.get(account, 0)),
        )
    by_number = {i.number: i for i in invoices}
    for p in payments:
        accounts[by_number[p.invoice_number].contract_account].payments.append(
            PaymentLine(
                invoice_number=p.invoice_number,
                source=p.source,
                reference=p.reference,
                amount=Money(p.amount_grosze),
                received_at=p.received_at,
            )
        )
    for i in invoices:
        due = i.amount_due_grosze or 0
        left = Money(max(due - paid.get(i.number, 0), 0))
        if i.state in FINAL_STATES or not left or i.due_date is None:
            continue
        overdue = day > i.due_date
        try:
            interest = late_interest(left, i.due_date, day, table) if overdue else Money.ZERO
        except RateTableError:
            interest = Money.ZERO
        a = accounts[i.contract_account]
        a.open_invoices.append(
            OpenInvoice(
                number=i.number,
                state=i.state or "",
                due_date=i.due_date,
                amount_due=Money(due),
                paid=Money(paid.get(i.number, 0)),
                outstanding=left,
                overdue=overdue,
                interest=interest,
            )
        )
        a.outstanding += left
        if overdue:
            a.overdue += left
            a.interest += interest
    return Balance(partner_number=partner, on=day, accounts=list(accounts.values()))
