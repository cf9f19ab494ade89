"""Registration ("Zarejestruj się"): models of the workflow, its messages and activities.

Nothing here carries an e-mail address, login, password or raw token: the workflow knows the
registration only by its opaque id, and activities read personal data from the store.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    SecretStr,
    StringConstraints,
    field_validator,
)

from ebok.ids import Login
from ebok.models.links import LinkPending
from ebok.models.links import Resend as Resend  # the update is the same in every process

WORKFLOW_TYPE = "Registration"
ID_PREFIX = "registration-"

# Activity names: workflows refer to activities by these, never by importing activities/.
SEND_ACTIVATION = "registration.send_activation"
REDEEM_TOKEN = "registration.redeem_token"
SEND_WELCOME = "registration.send_welcome"
CLOSE = "registration.close"
PURGE = "registration.purge"

Language = Literal["pl", "en"]
RegistrationId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]{16,40}$")]
TokenHash = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
TermsVersion = Annotated[
    str, StringConstraints(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9._-]+$")
]
Reason = Annotated[str, StringConstraints(max_length=500, pattern=r"^[^\x00-\x08\x0b-\x1f]*$")]

PASSWORD_MIN, PASSWORD_MAX = 8, 1024  # OWASP: at least 8; allow long passphrases, never truncate
_FROZEN = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)


class Status(StrEnum):
    AWAITING_PASSWORD = "awaiting_password"
    AWAITING_ACTIVATION = "awaiting_activation"
    ACTIVATED = "activated"
    EXPIRED = "expired"
    UNDELIVERABLE = "undeliverable"
    CANCELLED = "cancelled"


class ActivationOutcome(StrEnum):
    ACTIVATED = "activated"
    EXPIRED = "expired"
    INVALID = "invalid"
    ALREADY_USED = "already_used"


# --- what the portal sends (validated by the facade; never enters Temporal) ---------------


def _no_controls(value: object) -> object:
    if isinstance(value, str) and any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("must not contain control characters (CR, LF, NUL, ...)")
    return value


def _rfc_lengths(email: str) -> str:
    local, _, domain = email.rpartition("@")
    if len(local) > 64:
        raise ValueError("the part before @ is longer than 64 characters")
    if len(email) > 254:
        raise ValueError("the address is longer than 254 characters")
    return email


# An address mail can go to: syntax, lengths, no control characters; IDN domains accepted.
EmailAddress = Annotated[EmailStr, BeforeValidator(_no_controls), AfterValidator(_rfc_lengths)]


class SignUp(BaseModel):
    """Step 1: the address the activation mail goes to, the chosen login, the language."""

    model_config = _FROZEN
    email: EmailAddress
    login: Login
    language: Language = "pl"


class Credentials(BaseModel):
    """Step 2: the password and the acceptance of the terms in force."""

    model_config = _FROZEN
    password: SecretStr = Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)
    terms_version: TermsVersion
    terms_accepted: bool

    @field_validator("terms_accepted")
    @classmethod
    def _must_accept(cls, v: bool) -> bool:
        if not v:
            raise ValueError("the terms must be accepted")
        return v


# --- the workflow's input, messages and answers --------------------------------------------


class RegistrationInput(BaseModel):
    """Copied from settings by the client so the workflow never reads configuration."""

    model_config = _FROZEN
    registration_id: RegistrationId
    password_timeout: timedelta
    activation_ttl: timedelta
    resend_cooldown: timedelta
    resend_limit: int = Field(ge=0)
    purge_grace: timedelta


class CredentialsSet(BaseModel):
    """Update: step 2 is stored; send the activation mail."""

    model_config = _FROZEN
    terms_version: TermsVersion


class Activate(BaseModel):
    """Update: a link was followed. Carries the SHA-256 of the token, never the token."""

    model_config = _FROZEN
    token_hash: TokenHash


class Cancel(BaseModel):
    """Update from staff: stop the registration and purge its personal data now."""

    model_config = _FROZEN
    reason: Reason = ""


class ActivationPending(LinkPending):
    """The answer to step 2 and to resend; the same whether or not the address has an account."""


class ActivationAnswer(BaseModel):
    model_config = _FROZEN
    outcome: ActivationOutcome


class RegistrationStatus(BaseModel):
    """The ``status`` query: what an operator or the portal may see. No personal data."""

    registration_id: str
    status: Status
    links_sent: int = 0
    expires_at: datetime | None = None
    next_resend_at: datetime | None = None
    resends_left: int = 0
    activated_at: datetime | None = None
    closed_reason: str = ""
    purged: bool = False  # personal data deleted from the store


# --- activities ------------------------------------------------------------------------------


class SendActivation(BaseModel):
    """Issue link ``link_number`` (revoking older ones) and mail it, or notify the owner."""

    model_config = _FROZEN
    registration_id: RegistrationId
    link_number: int = Field(ge=1)
    issued_at: datetime
    expires_at: datetime


class ActivationMailed(BaseModel):
    model_config = _FROZEN
    message_id: str


class RedeemToken(BaseModel):
    model_config = _FROZEN
    registration_id: RegistrationId
    token_hash: TokenHash
    at: datetime  # workflow time, so the store and the workflow agree on expiry
    redemption_id: str = Field(min_length=1, max_length=64)  # the update's id: retries reuse it


class SendWelcome(BaseModel):
    model_config = _FROZEN
    registration_id: RegistrationId


class CloseRegistration(BaseModel):
    """Record a terminal state in the store and revoke every open link."""

    model_config = _FROZEN
    registration_id: RegistrationId
    status: Status
    at: datetime


class PurgeRegistration(BaseModel):
    model_config = _FROZEN
    registration_id: RegistrationId
    at: datetime
