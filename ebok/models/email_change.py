"""E-mail change: the new address is confirmed by a mailed link before it takes effect; the old
address is then told, with a link that undoes the change and locks the account for staff.

Workflow id ``email-change-<account id>`` (the account id is the registration's opaque id),
one run per change. The addresses live in the store's ``email_changes`` row under the change
id; the workflow carries that id, times and token hashes only.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ebok.models.links import LinkPending
from ebok.models.links import Resend as Resend  # the update is the same in every process
from ebok.models.registration import EmailAddress, Reason, RegistrationId, TokenHash

WORKFLOW_TYPE = "EmailChange"
ID_PREFIX = "email-change-"
CONFIRM_PURPOSE = "email-change"  # of the one-time tokens (ebok/store/tokens.py)
UNDO_PURPOSE = "email-undo"
CONFIRM_PAGE = "zmiana-email/potwierdz"  # the portal pages the links open
UNDO_PAGE = "zmiana-email/cofnij"

SEND_CONFIRMATION = "email_change.send_confirmation"
CONFIRM = "email_change.confirm"
SEND_UNDO_LINK = "email_change.send_undo_link"
UNDO = "email_change.undo"
UNLOCK = "email_change.unlock"
NOTIFY = "email_change.notify"
CLOSE = "email_change.close"

ChangeId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
StaffLogin = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f]+$")
]

_FROZEN = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)


class State(StrEnum):
    NEW = "new"
    AWAITING_CONFIRMATION = "awaiting_confirmation"  # link mailed to the new address
    CHANGED = "changed"  # in effect; the old address may undo it
    DONE = "done"  # the undo window passed: the change stays
    LOCKED = "locked"  # undone from the old address; staff review the account
    UNLOCKED = "unlocked"  # staff reviewed and unlocked it
    EXPIRED = "expired"  # nobody confirmed in time: nothing changed
    TAKEN = "taken"  # the new address belongs to another account by now: nothing changed
    UNDELIVERABLE = "undeliverable"
    CANCELLED = "cancelled"


FINISHED = (
    State.DONE,
    State.UNLOCKED,
    State.EXPIRED,
    State.TAKEN,
    State.UNDELIVERABLE,
    State.CANCELLED,
)


class ConfirmOutcome(StrEnum):
    CHANGED = "changed"
    EXPIRED = "expired"
    INVALID = "invalid"
    ALREADY_USED = "already_used"
    TAKEN = "taken"  # another account has the address now


class UndoOutcome(StrEnum):
    UNDONE = "undone"  # the old address is back and the account is locked for review
    EXPIRED = "expired"
    INVALID = "invalid"
    ALREADY_USED = "already_used"


class NewAddress(BaseModel):
    """What the customer asks for (validated by the facade; never enters Temporal)."""

    model_config = _FROZEN
    new_email: EmailAddress


class EmailChangeInput(BaseModel):
    """Copied from settings by the client; the workflow reads no configuration."""

    model_config = _FROZEN
    account_id: RegistrationId
    change_id: ChangeId
    link_ttl: timedelta = timedelta(hours=24)
    undo_window: timedelta = timedelta(days=7)
    resend_cooldown: timedelta = timedelta(seconds=180)
    resend_limit: int = Field(default=5, ge=0)


class Request(BaseModel):
    """Update ``request``: the change the facade stored under ``change_id`` (the new address
    is in the store, never here)."""

    model_config = _FROZEN
    change_id: ChangeId


class Confirm(BaseModel):
    """Update ``confirm`` / ``undo``: the link was followed. The token's SHA-256 only."""

    model_config = _FROZEN
    token_hash: TokenHash


class Cancel(BaseModel):
    """Update ``cancel``: drop a change not yet confirmed (customer or staff)."""

    model_config = _FROZEN
    by: StaffLogin = "customer"
    reason: Reason = ""


class Unlock(BaseModel):
    """Update ``unlock`` (staff, after review): ``{"staff": "anna.b", "reason": "..."}``."""

    model_config = _FROZEN
    staff: StaffLogin
    reason: Reason = ""


class ConfirmationPending(LinkPending):
    """The answer to ``request`` and ``resend``."""


class ConfirmAnswer(BaseModel):
    model_config = _FROZEN
    outcome: ConfirmOutcome
    changed_at: datetime | None = None


class UndoAnswer(BaseModel):
    model_config = _FROZEN
    outcome: UndoOutcome
    undone_at: datetime | None = None


class EmailChangeStatus(BaseModel):
    """The ``status`` query: for the portal and for operators. No address."""

    account_id: str
    change_id: str
    state: State
    requested_at: datetime | None = None
    links_sent: int = 0
    expires_at: datetime | None = None
    next_resend_at: datetime | None = None
    resends_left: int = 0
    changed_at: datetime | None = None
    undo_until: datetime | None = None
    undone_at: datetime | None = None
    unlocked_at: datetime | None = None
    unlocked_by: str | None = None
    detail: str = ""


# --- activities ------------------------------------------------------------------------------


class SendLink(BaseModel):
    """Issue link ``link_number`` (older ones stop working) and mail it: the confirmation to
    the new address, or the undo link to the old one."""

    model_config = _FROZEN
    change_id: ChangeId
    link_number: int = Field(ge=1)
    issued_at: datetime
    expires_at: datetime


class LinkMailed(BaseModel):
    model_config = _FROZEN
    message_id: str


class Redeem(BaseModel):
    """Use a link and apply its effect in the same transaction."""

    model_config = _FROZEN
    change_id: ChangeId
    token_hash: TokenHash
    at: datetime  # workflow time, so the store and the workflow agree on expiry
    redemption_id: str = Field(min_length=1, max_length=64)  # the update's id


class UnlockAccount(BaseModel):
    model_config = _FROZEN
    change_id: ChangeId
    staff: StaffLogin
    at: datetime


class Notify(BaseModel):
    """The undo was used: tell the customer (at the restored address) and the back office."""

    model_config = _FROZEN
    change_id: ChangeId
    kind: Literal["locked"]


class CloseChange(BaseModel):
    """The change ended without taking effect (or its undo window closed): links stop."""

    model_config = _FROZEN
    change_id: ChangeId
    state: Literal["expired", "undeliverable", "cancelled", "done", "taken"]
    at: datetime
