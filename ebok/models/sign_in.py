"""Sign-in ("Zaloguj się"): what the portal sends and what it is answered. Never in Temporal:
a sign-in is checked by the facade against the store, and throttled there."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr

from ebok.models.registration import PASSWORD_MAX

__all__ = ["SignIn", "SignInAnswer", "SignInOutcome"]

_FROZEN = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)


def _no_controls(value: object) -> object:
    if isinstance(value, str) and any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("must not contain control characters (CR, LF, NUL, ...)")
    return value


class SignIn(BaseModel):
    """A login or the account's e-mail address, the password, and the client's IP address
    (as the portal saw it), by which sign-ins are throttled too."""

    model_config = _FROZEN
    login_or_email: Annotated[
        str, BeforeValidator(_no_controls), Field(min_length=1, max_length=254)
    ]
    # No length rule of today's policy: an old password that predates it still signs in.
    password: SecretStr = Field(min_length=1, max_length=PASSWORD_MAX)
    client_ip: Annotated[str, BeforeValidator(_no_controls), Field(min_length=2, max_length=64)]


class SignInOutcome(StrEnum):
    SIGNED_IN = "signed_in"
    REFUSED = "refused"  # unknown login or wrong password: one answer for both
    THROTTLED = "throttled"  # too many failures (of the account or the address): see retry_at


class SignInAnswer(BaseModel):
    """Signed in: the account, the credential generation the portal keeps in its session (a
    session of an older generation has ended), and whether the account is linked to a
    business partner. Refused or throttled: nothing of the account, and for throttled, until
    when."""

    model_config = _FROZEN
    outcome: SignInOutcome
    account_id: str | None = None
    generation: int | None = None
    linked: bool | None = None
    retry_at: datetime | None = None
