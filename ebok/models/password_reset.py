"""Password reset ("Nie pamiętasz hasła?"): models of the workflow, its messages and activities.

One cycle is one run of ``password-reset-<account id>`` (the account id is opaque): a request
orders a 24-hour single-use link by mail; the new password is checked and hashed by the facade
and staged in the store under the redemption's id, so the workflow learns only "redeemed";
the link's redemption sets the password and ends every session in one transaction; then the
customer is told that the password was changed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ebok.models.links import LinkPending
from ebok.models.registration import RegistrationId, TokenHash

WORKFLOW_TYPE = "PasswordReset"
ID_PREFIX = "password-reset-"
LINK_PURPOSE = "password_reset"  # of the one-time token (ebok/store/tokens.py)
RESET_PAGE = "nowe-haslo"  # the portal page the mailed link opens
REQUEST_PAGE = "nie-pamietam-hasla"  # the portal page where a reset is asked for

SEND_LINK = "password_reset.send_link"
REDEEM = "password_reset.redeem"
NOTIFY_CHANGED = "password_reset.notify_changed"
CLOSE = "password_reset.close"

# "customer": asked on the portal; "locked": too many failed sign-ins; "staff": the back office.
Reason = Literal["customer", "locked", "staff"]
ResetId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
RedemptionId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]

_FROZEN = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)


class State(StrEnum):
    NEW = "new"  # started; the first request not yet taken
    AWAITING_NEW_PASSWORD = "awaiting_new_password"  # a link is out
    CHANGED = "changed"
    EXPIRED = "expired"  # nobody used the newest link in time
    UNDELIVERABLE = "undeliverable"


FINISHED = (State.CHANGED, State.EXPIRED, State.UNDELIVERABLE)


class ResetOutcome(StrEnum):
    CHANGED = "changed"
    EXPIRED = "expired"
    INVALID = "invalid"
    ALREADY_USED = "already_used"


class PasswordResetInput(BaseModel):
    """Copied from settings by the facade; the workflow reads no configuration."""

    model_config = _FROZEN
    account_id: RegistrationId
    reset_id: ResetId  # the cycle's id: its links' subject; used only if this starts a run
    link_ttl: timedelta = timedelta(hours=24)
    resend_cooldown: timedelta = timedelta(seconds=180)
    resend_limit: int = Field(default=3, ge=0)


class Request(BaseModel):
    """Update ``request``: mail a reset link. Again while one is out: a new link (the old one
    stops working), within the cooldown and the cap of resends."""

    model_config = _FROZEN
    reason: Reason = "customer"


class Locked(BaseModel):
    """Signal ``locked``, sent with start by a sign-in that locked the account: mail a reset
    link worded for the lock, unless a link is out already (the customer has that one). A
    signal, so the sign-in's answer never waits for a worker."""

    model_config = _FROZEN


class Redeem(BaseModel):
    """Update ``redeem``: the link was followed with a new password, whose hash the facade
    staged in the store under ``redemption_id``. The token's SHA-256, never the token."""

    model_config = _FROZEN
    token_hash: TokenHash
    redemption_id: RedemptionId


class ResetPending(LinkPending):
    """The answer to ``request``."""


class RedeemAnswer(BaseModel):
    model_config = _FROZEN
    outcome: ResetOutcome
    generation: int | None = None  # the account's credential generation after the change


class PasswordResetStatus(BaseModel):
    """The ``status`` query, for the portal and operators. No personal data."""

    account_id: str
    reset_id: str
    state: State
    reason: str | None = None
    links_sent: int = 0
    expires_at: datetime | None = None
    next_resend_at: datetime | None = None
    resends_left: int = 0
    changed_at: datetime | None = None
    detail: str = ""


# --- activities ------------------------------------------------------------------------------


class SendLink(BaseModel):
    """Record the cycle, issue link ``link_number`` (older ones stop working) and mail it to
    the account's address, worded for the ``reason``."""

    model_config = _FROZEN
    reset_id: ResetId
    account_id: RegistrationId
    reason: Reason
    link_number: int = Field(ge=1)
    issued_at: datetime
    expires_at: datetime


class LinkMailed(BaseModel):
    model_config = _FROZEN
    message_id: str


class RedeemLink(BaseModel):
    """Use the link and set the staged hash as the password, in one transaction."""

    model_config = _FROZEN
    reset_id: ResetId
    account_id: RegistrationId
    token_hash: TokenHash
    redemption_id: RedemptionId
    at: datetime  # workflow time, so the store and the workflow agree on expiry


class NotifyChanged(BaseModel):
    model_config = _FROZEN
    reset_id: ResetId
    account_id: RegistrationId
    changed_at: datetime


class CloseReset(BaseModel):
    """The cycle ended without a change: its links stop working, staged hashes go."""

    model_config = _FROZEN
    reset_id: ResetId
    at: datetime
    expired: bool
