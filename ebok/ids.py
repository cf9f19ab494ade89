"""Identifiers: validated value types (PPE, NIP, PESEL, NRB, ...) and PII-free workflow ids.

Each type is a plain function ``normalize_x(str) -> str`` raising :class:`InvalidIdentifier`,
and an ``Annotated[str, ...]`` of the same name for pydantic fields. Messages never repeat the
value, as it may be personal data; models holding PESEL/NIP should also set
``hide_input_in_errors=True`` so pydantic does not echo the input.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import unicodedata
from collections.abc import Callable
from typing import Annotated, TypeAlias

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError
from stdnum import ean, iban
from stdnum.exceptions import InvalidChecksum, InvalidComponent, ValidationError
from stdnum.pl import nip, pesel

__all__ = [
    "NIP",
    "NRB",
    "PESEL",
    "PPE",
    "InvalidIdentifier",
    "LegacyPPE",
    "Login",
    "PartnerNumber",
    "STOEN_PPE_PREFIX",
    "format_nrb",
    "hmac_id",
    "is_stoen",
    "mask_email",
    "normalize_legacy_ppe",
    "normalize_login",
    "normalize_nip",
    "normalize_nrb",
    "normalize_partner_number",
    "normalize_pesel",
    "normalize_ppe",
    "opaque_id",
]

STOEN_PPE_PREFIX = "5903801"  # GS1 Poland "590" + Stoen Operator's operator number
# Business partner numbers in the billing system are 10 digits, zero-padded. A fixed fact of
# that system rather than a deployment choice, so it is a constant and not a setting.
PARTNER_NUMBER_LENGTH = 10
LEGACY_PPE_MAX_LENGTH = 40
# HMAC over a low-entropy natural key (a PESEL has ~10^10 values) is only as strong as its key.
MIN_HMAC_KEY_BYTES = 16

_PREFIX = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
# ASCII only, checked before lower-casing: str.lower() maps e.g. KELVIN SIGN to "k", which would
# let two different-looking logins collide (or one impersonate another).
_LOGIN_CHARS = re.compile(r"[A-Za-z0-9._-]+")


class InvalidIdentifier(ValueError):
    """The value is not a valid identifier of ``kind``; the message says what is wrong."""

    def __init__(self, kind: str, problem: str) -> None:
        super().__init__(f"{kind}: {problem}")
        self.kind, self.problem = kind, problem


def _digits(kind: str, value: str, length: int, drop: str = "") -> str:
    compact = value.strip()
    for char in drop:
        compact = compact.replace(char, "")
    if not re.fullmatch("[0-9]+", compact):  # [0-9], because str.isdigit() accepts "٣"
        raise InvalidIdentifier(kind, "must contain only digits")
    if len(compact) != length:
        raise InvalidIdentifier(kind, f"must have {length} digits, got {len(compact)}")
    return compact


def _drop_pl(value: str) -> str:
    value = value.strip()
    return value[2:] if value[:2].upper() == "PL" else value


def normalize_ppe(value: str) -> str:
    """An 18-digit GS1 GSRN starting with 590 (Poland); spaces are allowed and removed."""
    ppe = _digits("PPE", value, 18, drop=" ")
    if not ppe.startswith("590"):
        raise InvalidIdentifier("PPE", "must start with 590 (GS1 Poland)")
    if ean.calc_check_digit(ppe[:-1]) != ppe[-1]:
        raise InvalidIdentifier("PPE", "check digit is wrong")
    return ppe


def is_stoen(ppe: str) -> bool:
    """Whether a (valid) PPE belongs to Stoen Operator; an invalid one raises."""
    return normalize_ppe(ppe).startswith(STOEN_PPE_PREFIX)


def normalize_legacy_ppe(value: str) -> str:
    """A pre-renumbering PPE code as printed on old invoices: free-form, so only kept sane."""
    code = value.strip()
    if not code:
        raise InvalidIdentifier("legacy PPE", "must not be empty")
    if len(code) > LEGACY_PPE_MAX_LENGTH:
        raise InvalidIdentifier("legacy PPE", f"must be at most {LEGACY_PPE_MAX_LENGTH} chars")
    # C* covers control, format (bidi overrides, zero-width) and unassigned code points.
    if any(unicodedata.category(c)[0] == "C" or c in "\u2028\u2029" for c in code):
        raise InvalidIdentifier("legacy PPE", "must not contain control characters")
    return code


def normalize_nip(value: str) -> str:
    """10 digits; accepts "123-456-32-18", spaces and a "PL" prefix."""
    number = _digits("NIP", _drop_pl(value), 10, drop=" -")
    try:
        return str(nip.validate(number))
    except ValidationError:
        raise InvalidIdentifier("NIP", "check digit is wrong") from None


def normalize_pesel(value: str) -> str:
    number = _digits("PESEL", value, 11)
    try:
        return str(pesel.validate(number))
    except InvalidChecksum:
        raise InvalidIdentifier("PESEL", "check digit is wrong") from None
    except InvalidComponent:
        raise InvalidIdentifier("PESEL", "birth date is not a real date") from None


def normalize_nrb(value: str) -> str:
    """26 digits; accepts spaces and a "PL" prefix. Checked as the IBAN "PL" + NRB."""
    number = _digits("NRB", _drop_pl(value), 26, drop=" ")
    try:
        iban.validate("PL" + number)
    except ValidationError:
        raise InvalidIdentifier("NRB", "check digits are wrong") from None
    if not 2 <= int(number[:2]) <= 98:  # ISO 7064 MOD 97-10 never yields 00, 01 or 99
        raise InvalidIdentifier("NRB", "check digits are wrong")
    return number


def format_nrb(value: str) -> str:
    """ "61 1090 1014 0000 0712 1981 2874": the grouping printed on Polish invoices."""
    number = normalize_nrb(value)
    return " ".join([number[:2], *(number[i : i + 4] for i in range(2, 26, 4))])


def normalize_partner_number(value: str) -> str:
    return _digits("partner number", value, PARTNER_NUMBER_LENGTH)


def normalize_login(value: str) -> str:
    """3-64 of ASCII letters, digits, ".", "_", "-", starting alphanumeric; lower-cased,
    as logins are unique regardless of case."""
    if not 3 <= len(value) <= 64:
        raise InvalidIdentifier("login", f"must be 3-64 characters, got {len(value)}")
    if not _LOGIN_CHARS.fullmatch(value):
        raise InvalidIdentifier("login", 'may contain only ASCII letters, digits, ".", "_", "-"')
    if not value[0].isalnum():
        raise InvalidIdentifier("login", "must start with a letter or digit")
    return value.lower()


def _b32(raw: bytes) -> str:
    return base64.b32encode(raw).decode("ascii").rstrip("=").lower()[:26]


def _check_prefix(prefix: str) -> None:
    if not _PREFIX.fullmatch(prefix):
        raise ValueError("id prefix must be 1-40 of letters, digits, '.', '_', '-'")


def hmac_id(key: bytes, prefix: str, natural_key: str) -> str:
    """A stable id like "registration-<26 base32 chars>" that reveals nothing of the key.

    The prefix is part of the MAC input, so one natural key gives unrelated ids in different
    id families. Callers normalize the natural key first (e.g. a lower-cased login).
    """
    _check_prefix(prefix)
    if len(key) < MIN_HMAC_KEY_BYTES:
        raise ValueError(f"HMAC key must have at least {MIN_HMAC_KEY_BYTES} bytes")
    if not natural_key:
        raise ValueError("natural key must not be empty")
    message = f"{prefix}\x00{natural_key}".encode()
    return f"{prefix}-{_b32(hmac.new(key, message, hashlib.sha256).digest())}"


def opaque_id(prefix: str) -> str:
    """A random id (128 bits) for processes without a natural key. Not for workflow code."""
    _check_prefix(prefix)
    return f"{prefix}-{_b32(secrets.token_bytes(16))}"


def mask_email(address: str) -> str:
    """ "jan.kowalski@example.pl" -> "j***@e***.pl": enough for an operator to recognise."""
    local, at, domain = address.strip().rpartition("@")
    if not at or not local or not domain:
        return "***"  # shown to operators, so never echo something unparsed
    name, dot, tld = domain.rpartition(".")
    masked_domain = f"{name[0]}***.{tld}" if dot and name else f"{domain[0]}***"
    return f"{local[0]}***@{masked_domain}"


def _check(normalize: Callable[[str], str]) -> AfterValidator:
    def validate(value: str) -> str:
        try:
            return normalize(value)
        except InvalidIdentifier as e:
            # A distinct error type per identifier lets API clients tell problems apart.
            kind = e.kind.lower().replace(" ", "_")
            raise PydanticCustomError(f"{kind}_invalid", str(e)) from None

    return AfterValidator(validate)


PPE: TypeAlias = Annotated[
    str, _check(normalize_ppe), Field(description="PPE code: 18-digit GS1 GSRN, 590...")
]
LegacyPPE: TypeAlias = Annotated[
    str, _check(normalize_legacy_ppe), Field(description="pre-renumbering PPE code (alias)")
]
NIP: TypeAlias = Annotated[str, _check(normalize_nip), Field(description="NIP, 10 digits")]
PESEL: TypeAlias = Annotated[str, _check(normalize_pesel), Field(description="PESEL, 11 digits")]
NRB: TypeAlias = Annotated[
    str, _check(normalize_nrb), Field(description="Polish account number (NRB), 26 digits")
]
PartnerNumber: TypeAlias = Annotated[
    str, _check(normalize_partner_number), Field(description="business partner number")
]
Login: TypeAlias = Annotated[
    str, _check(normalize_login), Field(description="login, 3-64 of a-z 0-9 . _ -")
]
