"""E-invoice consent ("e-faktura"): a customer of a linked account asks for invoices by e-mail,
confirms by a one-time link, and may withdraw; the store keeps every consent for audit.

Workflow id ``einvoice-<partner number>``: one consent cycle per run (request → active →
withdrawn, or the link expires); a new request after the run closed starts a new run under the
same id. Nothing here carries an e-mail address or token: the activities read the address from
the store, and the workflow sees the token's SHA-256 only.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ebok.ids import PartnerNumber
from ebok.models.links import LinkPending
from ebok.models.links import Resend as Resend  # the update is the same in every process
from ebok.models.registration import Reason, RegistrationId, TermsVersion, TokenHash

WORKFLOW_TYPE = "EInvoiceConsent"
ID_PREFIX = "einvoice-"
LINK_PURPOSE = "einvoice"  # of the one-time token (ebok/store/tokens.py)
CONFIRM_PAGE = "e-faktura/potwierdz"  # the portal page the link opens

CHECK_REQUEST = "einvoice.check_request"
SEND_LINK = "einvoice.send_link"
REDEEM = "einvoice.redeem"
RECORD_WITHDRAWAL = "einvoice.record_withdrawal"
NOTIFY = "einvoice.notify"
CLOSE = "einvoice.close"

Channel = Literal["web", "mobile", "staff", "paper"]  # as ebok.store.consents.CHANNELS
RequestKey = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16}$")]
# "<partner>.<request key>": the consent's id in the store and its link tokens' subject.
RequestId = Annotated[str, StringConstraints(pattern=r"^[0-9]{10}\.[0-9a-f]{16}$")]
StaffLogin = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f]+$")
]

_FROZEN = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)


class State(StrEnum):
    NEW = "new"  # started, the request not yet accepted
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"  # the link was not followed in time
    UNDELIVERABLE = "undeliverable"
    ABANDONED = "abandoned"  # started, but no request ever came


FINISHED = (State.WITHDRAWN, State.EXPIRED, State.UNDELIVERABLE, State.ABANDONED)


class ConfirmOutcome(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    INVALID = "invalid"
    ALREADY_USED = "already_used"
    NOT_LINKED = "not_linked"  # the account lost the partner before confirming


class EInvoiceInput(BaseModel):
    """Copied from settings by the client; the workflow reads no configuration."""

    model_config = _FROZEN
    partner_number: PartnerNumber
    request_key: RequestKey
    link_ttl: timedelta = timedelta(hours=72)
    resend_cooldown: timedelta = timedelta(seconds=180)
    resend_limit: int = Field(default=5, ge=0)


class Request(BaseModel):
    """Update ``request``: e-invoices for the partner, under these terms, asked through this
    channel. Again while a link is pending: a new link (rate-limited like ``resend``)."""

    model_config = _FROZEN
    account_id: RegistrationId
    terms_version: TermsVersion
    channel: Channel = "web"


class Confirm(BaseModel):
    """Update ``confirm``: the link was followed. The token's SHA-256, never the token."""

    model_config = _FROZEN
    token_hash: TokenHash


class Withdraw(BaseModel):
    """Update ``withdraw``: back to paper from the next invoice. From the portal, or by staff
    from the Temporal UI: ``{"channel": "staff", "by": "anna.b", "reason": "..."}``."""

    model_config = _FROZEN
    channel: Channel = "web"
    by: StaffLogin = "customer"
    reason: Reason = ""


class ConfirmationPending(LinkPending):
    """The answer to ``request`` and ``resend``."""


class ConfirmAnswer(BaseModel):
    model_config = _FROZEN
    outcome: ConfirmOutcome
    consent_id: str | None = None
    granted_at: datetime | None = None


class EInvoiceStatus(BaseModel):
    """The ``status`` query: for the portal and for operators. No personal data."""

    partner_number: str
    state: State
    request_id: str
    account_id: str | None = None
    terms_version: str | None = None
    channel: str | None = None
    requested_at: datetime | None = None
    links_sent: int = 0
    expires_at: datetime | None = None
    next_resend_at: datetime | None = None
    resends_left: int = 0
    consent_id: str | None = None
    active_since: datetime | None = None
    withdrawn_at: datetime | None = None
    withdrawn_by: str | None = None
    detail: str = ""


# --- activities ------------------------------------------------------------------------------


class CheckRequest(BaseModel):
    model_config = _FROZEN
    partner_number: PartnerNumber
    account_id: RegistrationId


class SendLink(BaseModel):
    """Issue link ``link_number`` of the request (older ones stop working) and mail it to the
    account's address."""

    model_config = _FROZEN
    request_id: RequestId
    account_id: RegistrationId
    link_number: int = Field(ge=1)
    issued_at: datetime
    expires_at: datetime


class LinkMailed(BaseModel):
    model_config = _FROZEN
    message_id: str


class Redeem(BaseModel):
    """Use the link and record the consent, in one transaction."""

    model_config = _FROZEN
    request_id: RequestId
    partner_number: PartnerNumber
    account_id: RegistrationId
    token_hash: TokenHash
    at: datetime  # workflow time, so the store and the workflow agree on expiry
    redemption_id: str = Field(min_length=1, max_length=64)  # the update's id: retries reuse it
    terms_version: TermsVersion
    channel: Channel
    requested_at: datetime


class RecordWithdrawal(BaseModel):
    model_config = _FROZEN
    partner_number: PartnerNumber
    at: datetime
    channel: Channel


class Notify(BaseModel):
    """Tell the customer, at the address the consent was given for."""

    model_config = _FROZEN
    consent_id: RequestId
    kind: Literal["active", "withdrawn"]


class CloseRequest(BaseModel):
    """The request ended unconfirmed: its links stop working."""

    model_config = _FROZEN
    request_id: RequestId
    at: datetime
