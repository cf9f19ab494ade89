"""Invoice lifecycle: issued by billing → delivered (e-mail with PDF, or paper) → paid, or
reminded, formally demanded and finally reported for supply suspension; corrections,
complaints and cancellation on the way.

Workflow id ``invoice-<number>``: invoice numbers identify no person. The workflow sees
numbers, amounts and dates only; e-mail addresses and names stay in the store.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from ebok.commercial import (
    DEFAULT_COMMERCIAL_INTEREST_RATES,
    DEFAULT_EUR_PLN_RATES,
    EurRates,
    commercial_rate_table,
)
from ebok.ids import NRB, PPE, PartnerNumber
from ebok.interest import DEFAULT_LATE_INTEREST_RATES as DEFAULT_RATES
from ebok.interest import RateTable
from ebok.models.linking import InvoiceNumber
from ebok.models.post import LetterFate as LetterFate  # the `letter` signal's argument
from ebok.models.post import LetterState as LetterState
from ebok.models.registration import Reason
from ebok.money import Grosze, Money

WORKFLOW_TYPE = "InvoiceLifecycle"
ID_PREFIX = "invoice-"

# Activity names: the workflow refers to activities by these only.
RECORD = "invoice.record"
NOTIFY = "invoice.notify"
PAPER_FALLBACK = "invoice.paper_fallback"
APPLY_PAYMENT = "invoice.apply_payment"
CORRECT = "invoice.correct"
CANCEL = "invoice.cancel"
RECORD_STATE = "invoice.record_state"
ESCALATE = "invoice.escalate"
FILE_SUSPENSION = "invoice.file_suspension"
WITHDRAW_SUSPENSION = "invoice.withdraw_suspension"
SEND_NOTICE_LETTER = "invoice.send_notice_letter"

# Message names: the facade (and `temporal workflow signal|update|query --name …`) and the
# workflow refer to its signals, updates and query by these only.
SIGNAL_PAYMENT = "payment"
SIGNAL_COMPLAINT = "complaint"
SIGNAL_BOUNCED = "bounced"
SIGNAL_LETTER = "letter"  # a registered notice's fate (delivered, refused, awizo, returned)
UPDATE_RECORD_PAYMENT = "record_payment"
UPDATE_ANSWER_COMPLAINT = "answer_complaint"
UPDATE_CORRECT = "correct"
UPDATE_WAIVE_REMINDER = "waive_reminder"
UPDATE_CANCEL = "cancel"
UPDATE_RESEND_NOTICE = "resend_notice"  # staff: post the notice letter again (after a fix)
QUERY_STATUS = "status"

_FROZEN = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

ContractAccount = Annotated[str, StringConstraints(pattern=r"^[0-9]{12}$")]
Reference = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9/_.:~#-]+$")
]
Staff = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f]+$")]
Text = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]*$"
    ),
]
PaymentSource = Literal["provider", "bank", "staff"]
# A business partner (billing's partner kind) owes commercial-transaction interest and the
# recovery compensation; a consumer the Civil Code's statutory interest (docs/invoice-law.md).
Debtor = Literal["consumer", "business"]
MAX_AMOUNT = 10**12  # grosze: ten billion złoty, far beyond any household or business bill


def workflow_id(number: str) -> str:
    return ID_PREFIX + number


def payment_key(number: str) -> str:
    """Our idempotency key at the payment provider: a retried delivery finds the same payment,
    and a notification's key leads back to the invoice."""
    return f"inv~{number}"


def remainder_key(number: str, gross: int, amount_due: int, paid: int) -> str:
    """The key of a payment for what is left to pay: untouched, the mailed link's payment;
    after a partial payment or a correction, one per standing (asking again gives the same
    payment, a new payment or correction a new one)."""
    if paid == 0 and amount_due == gross:
        return payment_key(number)
    digest = hashlib.sha256(f"{amount_due}:{paid}".encode()).hexdigest()[:12]
    return f"{payment_key(number)}~{digest}"


def invoice_of_key(key: str) -> str | None:
    prefix, sep, rest = key.partition("~")
    number = rest.partition("~")[0]  # invoice numbers have no "~"
    return number if sep and prefix == "inv" and number else None


class State(StrEnum):
    ISSUED = "issued"
    OPEN = "open"  # delivered, not yet due (or partly paid)
    OVERDUE = "overdue"
    DEMANDED = "demanded"  # formal demand served; the notice period runs
    SUSPENSION_FILED = "suspension_filed"
    PAID = "paid"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        return self in (State.PAID, State.CANCELLED)


class Step(StrEnum):
    """Dunning steps, each at most once per invoice (the demand may be served again after a
    complaint is answered: its notice period then restarts)."""

    REMINDER_BEFORE = "reminder_before"
    REMINDER_AFTER = "reminder_after"
    DEMAND = "demand"
    SUSPEND = "suspend"
    ESCALATE_COMPLAINT = "escalate_complaint"


NoticeKind = Literal["issued", "reminder_before", "reminder_after", "demand", "paid"]


class InvoiceLine(BaseModel):
    model_config = _FROZEN
    description: Text
    quantity: Decimal = Field(default=Decimal(1), gt=0, max_digits=14, decimal_places=4)
    unit: Annotated[str, StringConstraints(max_length=10, pattern=r"^[^\x00-\x1f]*$")] = ""
    unit_price_net: Decimal | None = Field(
        default=None, ge=0, max_digits=16, decimal_places=4, description="złoty; default net"
    )
    net: Grosze
    vat_rate: int = Field(ge=0, le=100, description="VAT rate in percent (23, 8, 5, 0)")
    vat: Grosze
    gross: Grosze

    @model_validator(mode="after")
    def _adds_up(self) -> InvoiceLine:
        if self.net.grosze < 0 or self.vat.grosze < 0:
            raise ValueError("net: line amounts must not be negative")
        if self.net + self.vat != self.gross:
            raise ValueError("gross: must equal net + vat")
        # VAT is rounded per line to the grosz; half a grosz either way is the only slack.
        if abs(self.vat.grosze * 100 - self.net.grosze * self.vat_rate) > 50:
            raise ValueError(f"vat: is not {self.vat_rate}% of net")
        return self


class IssueInvoice(BaseModel):
    """What billing sends to issue an invoice (``ebok invoice issue FILE.json``)."""

    model_config = _FROZEN
    number: InvoiceNumber
    partner_number: PartnerNumber
    contract_account: ContractAccount
    ppe: PPE | None = Field(default=None, description="point of delivery the invoice is for")
    lines: list[InvoiceLine] = Field(min_length=1, max_length=200)
    net: Grosze
    vat: Grosze
    gross: Grosze
    issue_date: date
    period_from: date | None = Field(default=None, description="settlement period; default issue")
    period_to: date | None = None
    due_date: date | None = Field(default=None, description="default: issue date + 14 days")
    nrb: NRB = Field(description="the partner's individual account number for transfers")
    correction_of: InvoiceNumber | None = None

    @model_validator(mode="after")
    def _consistent(self) -> IssueInvoice:
        if self.gross.grosze <= 0 or self.gross.grosze > MAX_AMOUNT:
            raise ValueError("gross: must be positive and below 10 billion zł")
        if sum(line.net.grosze for line in self.lines) != self.net.grosze:
            raise ValueError("net: must equal the sum of the lines' net amounts")
        if sum(line.vat.grosze for line in self.lines) != self.vat.grosze:
            raise ValueError("vat: must equal the sum of the lines' VAT")
        if self.net + self.vat != self.gross:
            raise ValueError("gross: must equal net + vat")
        if self.due_date is None:
            object.__setattr__(self, "due_date", self.issue_date + timedelta(days=14))
        elif self.due_date < self.issue_date:
            raise ValueError("due_date: must not be before issue_date")
        if (self.period_from or self.issue_date) > (self.period_to or self.issue_date):
            raise ValueError("period_to: must not be before period_from")
        if self.correction_of == self.number:
            raise ValueError("correction_of: an invoice cannot correct itself")
        return self

    @property
    def due(self) -> date:
        assert self.due_date is not None
        return self.due_date


class InvoiceInput(BaseModel):
    """Copied from the request and settings by the facade; the workflow reads no settings."""

    model_config = _FROZEN
    invoice: IssueInvoice
    reminder_before: timedelta = timedelta(days=3)
    reminder_after: timedelta = timedelta(days=1)
    demand_after: timedelta = timedelta(days=30)
    notice_period: timedelta = timedelta(days=14)
    complaint_deadline: timedelta = timedelta(days=14)
    complaint_escalation_margin: timedelta = timedelta(days=3)
    interest_rates: RateTable = Field(default_factory=lambda: RateTable.parse(DEFAULT_RATES))
    # Read from billing by the facade at issue; histories from before it was added lack it
    # and keep counting as a consumer's.
    debtor: Debtor = "consumer"
    commercial_interest_rates: RateTable = Field(
        default_factory=lambda: commercial_rate_table(DEFAULT_COMMERCIAL_INTEREST_RATES)
    )
    eur_pln_rates: EurRates = Field(default_factory=lambda: EurRates.parse(DEFAULT_EUR_PLN_RATES))
    # Whether the customer agreed to receive legal notices electronically: only then does an
    # e-mailed disconnection notice count (docs/invoice-law.md); otherwise it goes by registered
    # letter. Decided by the caller (facade/invoices.py) from the agreement's store.
    electronic_notices: bool = False

    @model_validator(mode="after")
    def _legal(self) -> InvoiceInput:
        # Energy Law art. 6b: at least 30 days overdue, then at least 14 days' notice.
        if self.demand_after < timedelta(days=30):
            raise ValueError("demand_after must be at least 30 days")
        if self.notice_period < timedelta(days=14):
            raise ValueError("notice_period must be at least 14 days")
        if self.complaint_escalation_margin >= self.complaint_deadline:
            raise ValueError("complaint_escalation_margin must be below complaint_deadline")
        return self

    @property
    def due_start(self) -> datetime:
        """The start of the due date, UTC: the customer may pay all of that day, and every
        dunning step counts from here."""
        return datetime.combine(self.invoice.due, time(0), tzinfo=UTC)

    @property
    def reminder_before_at(self) -> datetime:
        """When the reminder ahead of the due date is due: the first step of every plan."""
        return self.due_start - self.reminder_before


# --- signals and updates -------------------------------------------------------------------------


class PaymentArrived(BaseModel):
    """Signal ``payment``: a reference to a payment, never a claim to be believed.

    A provider payment is confirmed with the provider before it counts; a bank transfer carries
    the amount read from the bank's statement by the facade."""

    model_config = _FROZEN
    source: PaymentSource
    reference: Reference
    amount: Grosze | None = None
    received_at: datetime | None = None

    @model_validator(mode="after")
    def _amount_known(self) -> PaymentArrived:
        if self.source != "provider" and (self.amount is None or self.amount.grosze <= 0):
            raise ValueError("a bank or staff payment needs a positive amount")
        return self


class RecordPayment(BaseModel):
    """Update ``record_payment`` (staff): a payment seen outside the usual channels."""

    model_config = _FROZEN
    reference: Reference
    amount: Grosze
    received_at: datetime | None = None
    staff: Staff

    @model_validator(mode="after")
    def _positive(self) -> RecordPayment:
        if not 0 < self.amount.grosze <= MAX_AMOUNT:
            raise ValueError("amount must be positive")
        return self


class Bounced(BaseModel):
    """Signal ``bounced``: the e-invoice came back undeliverable after the relay took it."""

    model_config = _FROZEN
    detail: Annotated[str, StringConstraints(max_length=200)] = ""


class ComplaintFiled(BaseModel):
    """Signal ``complaint``: the customer disputes the invoice; dunning pauses."""

    model_config = _FROZEN
    reference: Reference
    filed_at: datetime | None = None


class AnswerComplaint(BaseModel):
    """Update ``answer_complaint`` (staff): dunning resumes (a correction, if any, is a
    separate ``correct``)."""

    model_config = _FROZEN
    upheld: bool
    answer: Annotated[Reason, Field(min_length=3)]
    staff: Staff


class Correct(BaseModel):
    """Update ``correct``: a correction invoice (faktura korygująca) sets a new gross due."""

    model_config = _FROZEN
    correction_number: InvoiceNumber
    new_gross: Grosze
    reason: Annotated[Reason, Field(min_length=3)]
    staff: Staff = "billing"

    @model_validator(mode="after")
    def _not_negative(self) -> Correct:
        if not 0 <= self.new_gross.grosze <= MAX_AMOUNT:
            raise ValueError("new_gross must be between 0 and 10 billion zł")
        return self


class WaiveReminder(BaseModel):
    """Update ``waive_reminder`` (staff): skip the next reminder or demand."""

    model_config = _FROZEN
    reason: Annotated[Reason, Field(min_length=3)]
    staff: Staff


class ResendNotice(BaseModel):
    """Update ``resend_notice`` (staff): post the demand's registered letter again, once the
    reason it was not posted (no postal address, refused by the post) is fixed."""

    model_config = _FROZEN
    staff: Staff


class CancelInvoice(BaseModel):
    """Update ``cancel`` (staff): the invoice is void; what was paid becomes a credit."""

    model_config = _FROZEN
    reason: Annotated[Reason, Field(min_length=3)]
    staff: Staff


class PaymentLink(BaseModel):
    """Where the customer pays what is left of an invoice online."""

    number: str
    amount: Money
    url: str


class InvoiceStatus(BaseModel):
    """The ``status`` query. Numbers and dates only."""

    number: str
    state: State
    gross: Money
    amount_due: Money  # after corrections
    paid: Money
    outstanding: Money
    credit: Money
    due_date: date
    delivery: Literal["email", "paper", "pending"] = "pending"
    next_step: Step | None = None
    next_step_at: datetime | None = None
    complaint_open: bool = False
    notice_until: datetime | None = None
    suspension_reference: str | None = None
    reminders_sent: int = 0
    payments: int = 0
    detail: str = ""
    debtor: Debtor = "consumer"
    interest_basis: Literal["statutory", "commercial"] = "statutory"
    recovery_compensation: Money | None = None  # stated in the last demand (business debtors)
    # The disconnection notice: how it went, where the registered letter is, the day it counts
    # as received and the earliest suspension that follows (None while unknown: no suspension).
    notice_channel: Literal["letter", "email"] | None = None
    letter_state: LetterState | None = None
    letter_tracking_id: str | None = None
    notice_received_on: date | None = None
    earliest_suspension: datetime | None = None


# --- activities --------------------------------------------------------------------------------


class Totals(BaseModel):
    """What the store says the invoice stands at, after an activity changed it."""

    model_config = _FROZEN
    amount_due: Money
    paid: Money
    credit: Money
    applied: bool = True  # False: nothing new (a duplicate, or not completed at the provider)
    detail: str = ""

    @property
    def outstanding(self) -> Money:
        return Money(max(self.amount_due.grosze - self.paid.grosze, 0))


class RecordInvoice(BaseModel):
    model_config = _FROZEN
    invoice: IssueInvoice
    at: datetime


class Notify(BaseModel):
    """Tell the customer: e-mail if an e-invoice consent is in force (and mail to it has not
    bounced), else a row in the paper queue."""

    model_config = _FROZEN
    number: InvoiceNumber
    kind: NoticeKind
    serial: int = Field(default=1, ge=1)  # a served-again demand gets a new one
    state: State
    paper_only: bool = False
    outstanding: Money
    due_date: date
    notice_until: datetime | None = None
    interest: Money | None = None
    interest_basis: Literal["statutory", "commercial"] = "statutory"
    compensation: Money | None = None  # a business debtor's recovery compensation, in złoty
    compensation_eur: int | None = None
    eur_rate: Decimal | None = None  # the NBP rate it was converted at, and its day
    eur_rate_date: date | None = None
    at: datetime | None = None  # when the workflow served it: the day arrears count from


class DemandFigures(BaseModel):
    """What a formal demand states besides the amount (the ``Notify`` fields of the same
    names)."""

    model_config = _FROZEN
    interest: Money
    interest_basis: Literal["statutory", "commercial"] = "statutory"
    compensation: Money | None = None
    compensation_eur: int | None = None
    eur_rate: Decimal | None = None
    eur_rate_date: date | None = None


class Delivered(BaseModel):
    model_config = _FROZEN
    channel: Literal["email", "paper"]
    bounced: bool = False  # the relay refused the recipient: paper went instead


class PaperFallback(BaseModel):
    model_config = _FROZEN
    number: InvoiceNumber
    detail: str = ""


class ApplyPayment(BaseModel):
    model_config = _FROZEN
    number: InvoiceNumber
    payment: PaymentArrived
    staff: str | None = None
    at: datetime


class CorrectionRequest(BaseModel):
    model_config = _FROZEN
    number: InvoiceNumber
    correction: Correct
    at: datetime


class CancelRequest(BaseModel):
    model_config = _FROZEN
    number: InvoiceNumber
    cancel: CancelInvoice
    at: datetime


class RecordState(BaseModel):
    """An audit row: a state change, a complaint, a waived step."""

    model_config = _FROZEN
    number: InvoiceNumber
    state: State
    event: str = Field(min_length=1, max_length=64)  # with the number, the row's natural key
    detail: str = ""
    actor: str = "workflow"
    at: datetime


class Escalate(BaseModel):
    model_config = _FROZEN
    number: InvoiceNumber
    reason: Literal["complaint_deadline", "bounced", "notice_letter"]
    deadline: datetime | None = None
    serial: int = 1
    detail: str = ""


class FileSuspension(BaseModel):
    model_config = _FROZEN
    number: InvoiceNumber
    serial: int = Field(ge=1)
    notice_served_at: datetime
    not_before: datetime


class SuspensionFiled(BaseModel):
    model_config = _FROZEN
    references: list[str]


class WithdrawSuspension(BaseModel):
    model_config = _FROZEN
    number: InvoiceNumber
    reason: str
    at: datetime


class SendNoticeLetter(BaseModel):
    """Post the formal demand as a registered letter (Energy Law art. 6b ust. 3)."""

    model_config = _FROZEN
    number: InvoiceNumber
    serial: int = Field(ge=1)
    outstanding: Money
    due_date: date
    at: datetime  # when the workflow served it: the posting day and the day arrears count from
    interest: Money | None = None
    interest_basis: Literal["statutory", "commercial"] = "statutory"
    compensation: Money | None = None
    compensation_eur: int | None = None
    eur_rate: Decimal | None = None
    eur_rate_date: date | None = None

    @property
    def key(self) -> str:
        return letter_key(self.number, self.serial)


def letter_key(number: str, serial: int) -> str:
    """Our key of the demand's letter at the post: one per invoice and demand."""
    return f"{number}~{serial}"
