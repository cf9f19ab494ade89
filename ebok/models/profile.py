"""The customer's own data: phone, correspondence address, language, which mails they want, and
their RODO consents. Validated here (errors name the field, echo no value); kept in the store.

Nothing in this module enters Temporal: the facade writes profiles and consents to the store
directly, and the billing system reads the changes it owns from the outbox.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

import phonenumbers
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

__all__ = [
    "Address",
    "ConsentEvent",
    "ConsentPurpose",
    "ConsentState",
    "Notifications",
    "Phone",
    "Profile",
    "ProfileChange",
    "normalise_phone",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)
_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")
_POSTAL_CODE = re.compile(r"^[0-9]{2}-[0-9]{3}$")
# Letters of any script, spaces, and the punctuation Polish place names use.
_CITY = re.compile(r"^[^\W\d_]+(?:[ .'\-]+[^\W\d_]+)*\.?$")


def normalise_phone(value: str) -> str:
    """A phone number as E.164 (``+48601234567``). A number without ``+`` or ``00`` is read
    as Polish (nine digits, spaces and dashes allowed); any number must be one that exists
    in the numbering plan (not just the right length)."""
    text = value.strip()
    if _CONTROLS.search(text):
        raise ValueError("must not contain control characters")
    if len(text) > 32:
        raise ValueError("is too long for a phone number")
    if text.startswith("00"):
        text = "+" + text[2:]
    if not re.fullmatch(r"[0-9 ()\-./+]{6,}", text) or text.count("+") > 1:
        raise ValueError("use digits, e.g. 601 234 567 or +48 601 234 567")
    try:
        number = phonenumbers.parse(text, "PL")
    except phonenumbers.NumberParseException:
        raise ValueError("is not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("is not a valid phone number (Polish numbers have 9 digits)")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _phone(value: object) -> object:
    return normalise_phone(value) if isinstance(value, str) else value


def _text(max_length: int) -> object:
    def check(value: object) -> object:
        if not isinstance(value, str):
            return value
        if _CONTROLS.search(value):
            raise ValueError("must not contain control characters")
        value = " ".join(value.split())
        if not value:
            raise ValueError("must not be empty")
        if len(value) > max_length:
            raise ValueError(f"must have at most {max_length} characters")
        return value

    return check


def _postal_code(value: str) -> str:
    if not _POSTAL_CODE.fullmatch(value):
        raise ValueError("must be a Polish postal code NN-NNN, e.g. 02-677")
    return value


def _city(value: str) -> str:
    if not _CITY.fullmatch(value):
        raise ValueError("must be a place name (letters, spaces, '-', '.')")
    return value


def _street(value: str) -> str:
    if not any(c.isalnum() for c in value):
        raise ValueError("must name a street and number")
    return value


Phone = Annotated[str, BeforeValidator(_phone)]
Street = Annotated[str, BeforeValidator(_text(120)), AfterValidator(_street)]
PostalCode = Annotated[str, BeforeValidator(_text(6)), AfterValidator(_postal_code)]
City = Annotated[str, BeforeValidator(_text(60)), AfterValidator(_city)]


class Address(BaseModel):
    """A Polish correspondence address."""

    model_config = _FROZEN
    street: Street  # street, house and flat number: "ul. Marszałkowska 10/5"
    postal_code: PostalCode
    city: City


class Notifications(BaseModel):
    """Which mails the customer wants. Formal notices (payment demands) go regardless."""

    model_config = _FROZEN
    invoices: bool = True
    reminders: bool = True
    outages: bool = True  # outages in the customer's area
    planned_works: bool = True


class ProfileChange(BaseModel):
    """What the customer changes; a field left out stays as it is, ``phone``/``address``
    given as null remove it."""

    model_config = _FROZEN
    phone: Phone | None = None
    address: Address | None = None
    language: Literal["pl", "en"] | None = None
    notifications: Notifications | None = None


class Profile(BaseModel):
    """The account's data as the portal shows it."""

    account_id: str
    email: str
    language: str
    status: str  # "active", or "locked" while staff review an undone e-mail change
    phone: str | None = None
    address: Address | None = None
    notifications: Notifications = Notifications()
    updated_at: datetime | None = None


# --- RODO consents ---------------------------------------------------------------------------


class ConsentPurpose(StrEnum):
    MARKETING_EMAIL = "marketing_email"
    MARKETING_PHONE = "marketing_phone"
    ELECTRONIC_NOTICES = "electronic_notices"  # formal notices (payment demands) by e-mail


ConsentChannel = Literal["web", "mobile", "staff", "paper", "phone"]
ConsentVersion = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9._-]+$")]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class GiveConsent(BaseModel):
    """Consent given to the text of ``version`` the customer was shown, through ``channel``.
    ``text`` is that text (only its SHA-256 is kept), or give ``text_sha256`` itself."""

    model_config = _FROZEN
    purpose: ConsentPurpose
    version: ConsentVersion
    channel: ConsentChannel = "web"
    text: Annotated[str, Field(min_length=1, max_length=20_000)] | None = None
    text_sha256: Sha256 | None = None


class WithdrawConsent(BaseModel):
    model_config = _FROZEN
    purpose: ConsentPurpose
    channel: ConsentChannel = "web"


class ConsentEvent(BaseModel):
    """One line of an account's consent history (append-only)."""

    seq: int
    account_id: str
    purpose: ConsentPurpose
    action: Literal["given", "withdrawn"]
    version: str
    channel: str
    text_sha256: str | None
    at: datetime


class ConsentState(BaseModel):
    """Where one purpose stands now: the newest event decides."""

    purpose: ConsentPurpose
    given: bool
    version: str | None = None
    since: datetime | None = None
    channel: str | None = None
