"""A partner's account balance, read from the store: what the invoice workflows recorded."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel

from ebok.money import Money

__all__ = ["AccountBalance", "Balance", "NotificationOutcome", "OpenInvoice", "PaymentLine"]


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


class NotificationOutcome(BaseModel):
    """What became of a verified payment notification."""

    outcome: Literal["signalled", "duplicate", "ignored", "closed"]
    invoice_number: str
    detail: str = ""
