"""Account deletion (GDPR art. 17): the customer asks, confirms by a one-time link, and after a
cooling-off period in which signing in cancels it, the account's personal data is erased;
what accounting law keeps stays with the business partner.

Workflow id ``deletion-<account id>`` (the account id is the registration's opaque random id):
one request per run; after a cancellation or an expired link, the next request starts a new
run under the same id. Nothing here carries an address or a token: activities read the
address from the store, the workflow sees the token's SHA-256 only.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from ebok.models.links import LinkPending
from ebok.models.links import Resend as Resend  # the update is the same in every process
from ebok.models.registration import Reason, RegistrationId, TokenHash

WORKFLOW_TYPE = "AccountDeletion"
ID_PREFIX = "deletion-"
LINK_PURPOSE = "deletion"  # of the one-time token (ebok/store/tokens.py)
CONFIRM_PAGE = "usun-konto/potwierdz"  # the portal page the link opens

SEND_LINK = "deletion.send_link"
REDEEM = "deletion.redeem"
NOTIFY = "deletion.notify"
END_PROCESSES = "deletion.end_processes"
ERASE = "deletion.erase"
CLOSE = "deletion.close"

_FROZEN = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)


class State(StrEnum):
    NEW = "new"  # started, the request not yet accepted
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    SCHEDULED = "scheduled"  # confirmed; erased when the cooling-off ends
    ERASING = "erasing"  # open processes being ended, the last mail, the erasure
    DELETED = "deleted"
    CANCELLED = "cancelled"  # by the customer (signing in, or asking) or by staff
    EXPIRED = "expired"  # the confirmation link was not followed in time
    UNDELIVERABLE = "undeliverable"  # the confirmation mail could not be sent


FINISHED = (State.DELETED, State.CANCELLED, State.EXPIRED, State.UNDELIVERABLE)
CANCELLABLE = (State.NEW, State.AWAITING_CONFIRMATION, State.SCHEDULED)


class ConfirmOutcome(StrEnum):
    SCHEDULED = "scheduled"
    EXPIRED = "expired"
    INVALID = "invalid"
    ALREADY_USED = "already_used"


class DeletionInput(BaseModel):
    """Copied from settings by the client; the workflow reads no configuration."""

    model_config = _FROZEN
    account_id: RegistrationId
    # Link serials of this run start after those of the account's earlier requests: a
    # token's (purpose, subject, serial) is unique, and the subject is the account.
    first_serial: int = Field(default=1, ge=1)
    link_ttl: timedelta = timedelta(hours=72)
    resend_cooldown: timedelta = timedelta(seconds=180)
    resend_limit: int = Field(default=5, ge=0)
    cooling_off: timedelta = timedelta(days=14)


class Request(BaseModel):
    """Update ``request``: the customer asks to delete the account. Again while the link is
    pending: a new link (rate-limited like ``resend``)."""

    model_config = _FROZEN
    channel: Literal["web", "mobile", "staff"] = "web"


class Confirm(BaseModel):
    """Update ``confirm``: the link was followed. The token's SHA-256, never the token."""

    model_config = _FROZEN
    token_hash: TokenHash


class Cancel(BaseModel):
    """Update ``cancel``: the deletion stops and nothing is erased. ``by`` is ``sign_in`` when
    the customer signed in during the cooling-off, ``customer`` when they asked, ``staff``
    from the Temporal UI: ``{"by": "staff", "staff": "anna.b", "reason": "..."}``."""

    model_config = _FROZEN
    by: Literal["sign_in", "customer", "staff"] = "customer"
    staff: str = Field(default="", max_length=64, pattern=r"^[^\x00-\x1f]*$", validate_default=True)
    reason: Reason = ""

    @field_validator("staff")
    @classmethod
    def _staff_named(cls, staff: str, info: ValidationInfo) -> str:
        if info.data.get("by") == "staff" and not staff.strip():
            raise ValueError("staff must give their login")
        return staff


class DeletionPending(LinkPending):
    """The answer to ``request`` and ``resend``."""


class ConfirmAnswer(BaseModel):
    model_config = _FROZEN
    outcome: ConfirmOutcome
    erase_at: datetime | None = None


class DeletionStatus(BaseModel):
    """The ``status`` query: for the portal and for operators. No personal data."""

    account_id: str
    state: State
    requested_at: datetime | None = None
    links_sent: int = 0
    expires_at: datetime | None = None
    next_resend_at: datetime | None = None
    resends_left: int = 0
    confirmed_at: datetime | None = None
    erase_at: datetime | None = None  # the end of the cooling-off
    cancelled_at: datetime | None = None
    cancelled_by: str | None = None
    deleted_at: datetime | None = None
    processes_ended: list[str] = []
    detail: str = ""


# --- activities ------------------------------------------------------------------------------


class SendLink(BaseModel):
    """Issue link ``serial`` of the account's deletion (older ones stop working) and mail it
    to the account's address."""

    model_config = _FROZEN
    account_id: RegistrationId
    serial: int = Field(ge=1)
    issued_at: datetime
    expires_at: datetime


class LinkMailed(BaseModel):
    model_config = _FROZEN
    message_id: str


class Redeem(BaseModel):
    model_config = _FROZEN
    account_id: RegistrationId
    token_hash: TokenHash
    at: datetime  # workflow time, so the store and the workflow agree on expiry
    redemption_id: str = Field(min_length=1, max_length=64)  # the update's id: retries reuse it


class Redeemed(BaseModel):
    model_config = _FROZEN
    outcome: ConfirmOutcome


class Notify(BaseModel):
    """Tell the customer: ``scheduled`` (with the date, and how to cancel) or ``deleted``
    (sent before the address is erased). ``serial`` keeps one Message-ID per request."""

    model_config = _FROZEN
    account_id: RegistrationId
    kind: Literal["scheduled", "deleted"]
    serial: int = Field(ge=1)
    erase_at: datetime


class EndProcesses(BaseModel):
    """End the account's open processes through their own messages, and wait for them to
    close: partner linking, e-invoice consents, outage reports, a registration."""

    model_config = _FROZEN
    account_id: RegistrationId
    at: datetime


class ProcessesEnded(BaseModel):
    model_config = _FROZEN
    ended: list[str]  # workflow ids, e.g. "linking-…: cancelled"


class Erase(BaseModel):
    model_config = _FROZEN
    account_id: RegistrationId
    at: datetime


class Erased(BaseModel):
    model_config = _FROZEN
    rows: dict[str, int]  # table → rows deleted or redacted


class CloseRequest(BaseModel):
    """The request ended without an erasure: its links stop working."""

    model_config = _FROZEN
    account_id: RegistrationId
    at: datetime


# --- the data export (GDPR art. 15 and 20) ---------------------------------------------------


class AccountExport(BaseModel):
    """Everything the store holds about an account, section by section (see
    ebok/store/personal_data.py), in a machine-readable form the customer can take elsewhere."""

    account_id: str
    exported_at: datetime
    sections: dict[str, list[dict[str, Any]]]
    # What an erasure would keep of each section, and the law that keeps it.
    kept_after_deletion: dict[str, str]
