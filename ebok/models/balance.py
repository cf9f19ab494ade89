"""A partner's account balance, read from the store: what the invoice workflows recorded."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel

from ebok.money import Money

__all__ = [
    "AccountBalance",
    "Balance",
    "NotificationOutcome",
    "OpenInvoice",
    "PaymentLine",
    "PaymentToBook",
]


class OpenInvoice(BaseModel):
    number: str
    state: str
    due_date: date
    amount_due: Money
    paid: Money
    outstanding: Money
    overdue: bool
    interest: Money  # late interest up to the balance's day (commercial rate for a business)


class PaymentLine(BaseModel):
    invoice_number: str
    source: str
    reference: str
    amount: Money
    received_at: datetime


class AccountBalance(BaseModel):
    contract_account: str
    open_invoices: list[OpenInvoice]
    payments: list[PaymentLine]
    outstanding: Money
    overdue: Money
    interest: Money
    credit: Money  # from overpayments, to be set off or refunded

    @property
    def net(self) -> Money:
        """Positive: the partner owes this much; negative: we owe the partner."""
        return self.outstanding - self.credit


class Balance(BaseModel):
    partner_number: str
    on: date
    accounts: list[AccountBalance]


Outcome = Literal[
    "signalled", "captured", "duplicate", "ignored", "cancelled", "closed", "unmatched"
]


class NotificationOutcome(BaseModel):
    """What became of a verified payment notification: the invoice was told of the payment
    (``signalled``; ``captured`` when it had waited for our confirmation and was taken first),
    it had been (``duplicate``), there was nothing to apply (``ignored``), a payment held for
    confirmation was refused (``cancelled``), or staff must book it by hand: its invoice's
    process has ended (``closed``) or it is no payment under a key of ours (``unmatched``, with
    no invoice number)."""

    outcome: Outcome
    invoice_number: str = ""
    detail: str = ""


class PaymentToBook(BaseModel):
    """A payment no invoice could take, listed for staff to book by hand."""

    source: Literal["provider", "bank"]
    reference: str  # the provider's order id, the bank's transaction id
    amount: Money
    why: str
    received_at: datetime | None
    listed_at: datetime
