"""What the formal demand (the written notice of Energy Law art. 6b ust. 3) says besides the
invoice's own figures: who the seller is, every overdue and current amount the customer owes
across all their open invoices, and the business debtor's charges. Sources:
``docs/invoice-law.md``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from ebok.models import invoice as m
from ebok.money import Money
from ebok.store.db import UnitOfWork
from ebok.store.invoices import FINAL_STATES

__all__ = ["Arrear", "arrears_of", "demand_facts"]


@dataclass(frozen=True)
class Arrear:
    number: str
    due_date: date
    outstanding: Money
    overdue: bool


async def arrears_of(uow: UnitOfWork, partner_number: str, today: date) -> list[Arrear]:
    """Every open invoice of the partner with something left to pay, by due date: the notice
    names the customer's arrears and current amounts, not only the invoice it is about."""
    invoices = [
        i
        for i in await uow.invoices.of_partner(partner_number)
        if i.state not in FINAL_STATES and i.due_date is not None
    ]
    paid: dict[str, int] = {}
    for p in await uow.invoices.payments_of([i.number for i in invoices]):
        paid[p.invoice_number] = paid.get(p.invoice_number, 0) + p.amount_grosze
    found = []
    for i in invoices:
        assert i.due_date is not None
        left = (i.amount_due_grosze or 0) - paid.get(i.number, 0)
        if left > 0:
            found.append(Arrear(i.number, i.due_date, Money(left), i.due_date < today))
    return sorted(found, key=lambda a: (a.due_date, a.number))


def demand_facts(
    req: m.Notify, arrears: list[Arrear], seller: str, seller_nip: str | None
) -> dict[str, Any]:
    """The template context a demand adds: the seller, the arrears with their totals, and the
    interest basis with the recovery compensation."""
    overdue = [a for a in arrears if a.overdue]
    current = [a for a in arrears if not a.overdue]
    return {
        "seller": seller,
        "seller_nip": seller_nip or "",
        "arrears": [
            {
                "number": a.number,
                "due_date": a.due_date.strftime("%d.%m.%Y"),
                "amount": str(a.outstanding),
                "overdue": a.overdue,
            }
            for a in arrears
        ],
        "overdue_total": str(sum((a.outstanding for a in overdue), Money.ZERO)),
        "current_total": str(sum((a.outstanding for a in current), Money.ZERO)),
        "arrears_total": str(sum((a.outstanding for a in arrears), Money.ZERO)),
        "interest_basis": req.interest_basis,
        "compensation": str(req.compensation) if req.compensation else "",
        "compensation_eur": req.compensation_eur or "",
        "eur_rate": str(req.eur_rate) if req.eur_rate is not None else "",
        "eur_rate_date": req.eur_rate_date.strftime("%d.%m.%Y") if req.eur_rate_date else "",
    }
