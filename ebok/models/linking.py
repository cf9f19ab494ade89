"""Partner linking ("Powiąż"): an activated web account is linked to a business partner once
the grid operator confirms a separate distribution contract for the partner's PPEs.

Workflow id ``linking-<account id>``: one linking effort per account, which also carries the
lock-out after too many wrong attempts. No name, PESEL or NIP here: activities read them from
the store; the workflow sees partner, invoice and PPE numbers only.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from ebok.ids import PPE, PartnerNumber, normalize_legacy_ppe, normalize_ppe
from ebok.models.registration import Reason as FreeText
from ebok.models.registration import RegistrationId

WORKFLOW_TYPE = "PartnerLinking"
ID_PREFIX = "linking-"

MATCH = "linking.match"
CHECK_CONTRACT = "linking.check_contract"
RECORD_LINK = "linking.record_link"
NOTIFY_CUSTOMER = "linking.notify_customer"
ESCALATE = "linking.escalate"

_FROZEN = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

InvoiceNumber = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=3, max_length=40, pattern=r"^[A-Za-z0-9/_.-]+$"
    ),
]


class State(StrEnum):
    WAITING_FOR_ATTEMPT = "waiting_for_attempt"
    LOCKED = "locked"
    CHECKING_WITH_OPERATOR = "checking_with_operator"
    AWAITING_STAFF = "awaiting_staff"
    LINKED = "linked"
    REJECTED = "rejected"
    ABANDONED = "abandoned"


class Outcome(StrEnum):
    """What the customer is told after an attempt. Never which field was wrong."""

    CHECKING = "checking"  # data matched; waiting for the grid operator
    LINKED = "linked"
    NO_MATCH = "no_match"
    LOCKED = "locked"
    PARTNER_TAKEN = "partner_taken"  # linked to another web account; the hotline can help


class Refusal(StrEnum):
    """Why a link was refused: the customer can act on each."""

    COMPREHENSIVE_CONTRACT = "comprehensive_contract"
    NO_CONTRACT = "no_contract"
    OTHER_PARTY = "other_party"
    UNKNOWN_PPE = "unknown_ppe"
    STAFF = "staff"
    PARTNER_TAKEN = "partner_taken"


class LinkingInput(BaseModel):
    """Copied from settings by the client; the workflow reads no configuration."""

    model_config = _FROZEN
    account_id: RegistrationId
    max_failed_attempts: int = Field(default=5, ge=1)
    lockout: timedelta = timedelta(hours=24)
    operator_patience: timedelta = timedelta(hours=48)
    staff_patience: timedelta = timedelta(hours=24)
    idle_timeout: timedelta = timedelta(days=30)
    invoice_max_age: timedelta = timedelta(days=400)
    allow_shared_partner: bool = False


def _ppe_or_alias(value: object) -> object:
    """A current PPE must pass its GS1 check; anything else is tried as a pre-renumbering code."""
    if not isinstance(value, str):
        return value
    compact = value.replace(" ", "")
    if compact.isdigit() and len(compact) == 18:
        return normalize_ppe(compact)
    return normalize_legacy_ppe(value)


class LinkRequest(BaseModel):
    """Update ``link``: the partner number and one proof from a recent invoice."""

    model_config = _FROZEN
    partner_number: PartnerNumber
    invoice_number: InvoiceNumber | None = None
    gross_grosze: int | None = Field(default=None, gt=0, lt=10**12)
    ppe: Annotated[str, BeforeValidator(_ppe_or_alias)] | None = Field(
        default=None, description="PPE code, or the old code printed on older invoices"
    )

    @model_validator(mode="after")
    def _one_proof(self) -> LinkRequest:
        invoice = self.invoice_number is not None or self.gross_grosze is not None
        if invoice and (self.invoice_number is None or self.gross_grosze is None):
            raise ValueError("give both the invoice number and its gross amount")
        if invoice == (self.ppe is not None):
            raise ValueError("give either invoice number with gross amount, or the PPE code")
        return self


class LinkAnswer(BaseModel):
    model_config = _FROZEN
    outcome: Outcome
    attempts_left: int
    retry_at: datetime | None = None


class StaffDecision(BaseModel):
    """Updates ``approve`` / ``reject`` from the back office (Temporal UI or CLI)."""

    model_config = _FROZEN
    reason: Annotated[FreeText, Field(min_length=3)]
    staff: Annotated[str, StringConstraints(min_length=1, max_length=64)] = "staff"


class LinkingStatus(BaseModel):
    """The ``status`` query: for the portal and for operators. No personal data."""

    account_id: str
    state: State
    partner_number: str | None = None
    failed_attempts: int = 0
    attempts_left: int = 0
    locked_until: datetime | None = None
    ppes: list[str] = []
    ppes_answered: int = 0  # by the grid operator, in the current check
    waiting_since: datetime | None = None
    refusal: Refusal | None = None
    detail: str = ""


# --- activities ------------------------------------------------------------------------------


class MatchRequest(BaseModel):
    model_config = _FROZEN
    account_id: RegistrationId
    request: LinkRequest
    invoices_since: datetime
    allow_shared_partner: bool


class MatchResult(BaseModel):
    model_config = _FROZEN
    matched: bool
    ppes: list[str] = []
    already_linked: bool = False  # this account has this partner already
    taken: bool = False  # another account has it, and sharing is off


class ContractCheck(BaseModel):
    model_config = _FROZEN
    account_id: RegistrationId
    partner_number: PartnerNumber
    ppe: PPE


class ContractVerdict(BaseModel):
    model_config = _FROZEN
    ppe: str
    status: Literal["confirmed", "no_contract", "other_party", "unknown_ppe"]
    contract_type: Literal["distribution", "comprehensive"] | None = None
    reference: str = ""


class RecordLink(BaseModel):
    model_config = _FROZEN
    account_id: RegistrationId
    partner_number: PartnerNumber
    method: Literal["invoice", "ppe", "staff"]
    at: datetime
    allow_shared_partner: bool


class LinkRecorded(BaseModel):
    model_config = _FROZEN
    linked: bool
    taken: bool = False


class NotifyCustomer(BaseModel):
    model_config = _FROZEN
    account_id: RegistrationId
    partner_number: PartnerNumber
    linked: bool
    refusal: Refusal | None = None
    ppes: list[str] = []
    staff_reason: str = ""
    serial: int = 1  # one mail per decision; a retry reuses it


class Escalate(BaseModel):
    model_config = _FROZEN
    account_id: RegistrationId
    partner_number: PartnerNumber
    waiting_since: datetime
    serial: int
