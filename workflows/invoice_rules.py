"""The invoice lifecycle's legal rules as pure functions of its input, so they can be read and
tested without Temporal: what a formal demand charges (which interest table applies, and the
business debtor's recovery compensation), and which action each dunning step takes.

Sources: ``docs/invoice-law.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Literal, assert_never

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from ebok.commercial import Compensation, recovery_compensation
    from ebok.interest import RateTable, RateTableError, late_interest
    from ebok.models import invoice as m
    from ebok.money import Money

InterestBasis = Literal["statutory", "commercial"]


def interest_basis(debtor: m.Debtor) -> InterestBasis:
    """A business partner owes interest for delay in commercial transactions (art. 4a of the
    Act of 8 March 2013 excludes art. 481 § 2 of the Civil Code); a consumer the Civil Code's."""
    return "commercial" if debtor == "business" else "statutory"


def interest_table(inp: m.InvoiceInput) -> RateTable:
    if interest_basis(inp.debtor) == "commercial":
        return inp.commercial_interest_rates
    return inp.interest_rates


@dataclass(frozen=True)
class DemandCharges:
    basis: InterestBasis
    interest: Money
    compensation: Compensation | None  # business debtors only
    problems: tuple[str, ...]  # a charge that could not be worked out, for the staff's detail

    def figures(self) -> m.DemandFigures:
        """What the notice activity is told."""
        comp = self.compensation
        return m.DemandFigures(
            interest=self.interest,
            interest_basis=self.basis,
            compensation=comp.amount if comp else None,
            compensation_eur=comp.eur if comp else None,
            eur_rate=comp.rate if comp else None,
            eur_rate_date=comp.rate_date if comp else None,
        )


def demand_charges(
    inp: m.InvoiceInput, amount_due: Money, outstanding: Money, today: date
) -> DemandCharges:
    """What a demand served ``today`` states besides the amount: interest on ``outstanding``
    since the due date, and for a business debtor the fixed compensation for a claim of
    ``amount_due`` (art. 10 ust. 1). A table without the needed rate gives no figure and a
    problem naming the setting, never a guessed one."""
    basis, due = interest_basis(inp.debtor), inp.invoice.due
    problems: list[str] = []
    try:
        interest = late_interest(outstanding, due, today, interest_table(inp))
    except RateTableError as e:
        interest = Money.ZERO
        problems.append(f"interest not computed: {e}")
    compensation = None
    if basis == "commercial" and today > due and amount_due:
        try:
            compensation = recovery_compensation(amount_due, due, inp.eur_pln_rates)
        except RateTableError as e:
            problems.append(f"recovery compensation not computed: {e}")
    return DemandCharges(basis, interest, compensation, tuple(problems))


def suspension_not_before(received: date, notice_period: timedelta) -> datetime:
    """The earliest moment a suspension may be asked for, for a notice received on
    ``received``: Energy Law art. 6b ust. 3 gives the customer 14 days *from the day of
    receiving* the written notice. The day of receipt is not counted and the period ends with
    the end of its last day (Civil Code art. 111 § 2), so with 14 days, a notice received on
    day D leaves all of day D + 14 to pay, and the request may go from the start of D + 15.
    Days start at 00:00 UTC, as every dunning date of this workflow does (later than Polish
    midnight, so never early)."""
    return datetime.combine(received + timedelta(days=1), time(0), tzinfo=UTC) + notice_period


class Action(StrEnum):
    """What the workflow does when a dunning step's time comes."""

    ESCALATE = "escalate"
    REMIND = "remind"
    DEMAND = "demand"
    FILE_SUSPENSION = "file_suspension"


def action_for(step: m.Step) -> Action:
    """Exhaustive: a step this code does not know fails the workflow task (the UI shows the
    error and the workflow waits for a fixed worker), and never falls through to a supply
    suspension request."""
    match step:
        case m.Step.ESCALATE_COMPLAINT:
            return Action.ESCALATE
        case m.Step.REMINDER_BEFORE | m.Step.REMINDER_AFTER:
            return Action.REMIND
        case m.Step.DEMAND:
            return Action.DEMAND
        case m.Step.SUSPEND:
            return Action.FILE_SUSPENSION
        case _:
            assert_never(step)
