"""Identifiers, checked against independent implementations of the rules in DESIGN.md."""

import base64
import datetime
import hashlib
import hmac
import re
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, ValidationError
from stdnum import ean

from ebok import ids
from ebok.ids import (
    NIP,
    NRB,
    PESEL,
    PPE,
    InvalidIdentifier,
    LegacyPPE,
    Login,
    PartnerNumber,
)

# --- the rules, written out from DESIGN.md ("Domain facts to get right") --------------------


def ref_gs1_check(body: str) -> int:
    """Weights 3,1,3,1... from the right of the body; K = (10 - sum mod 10) mod 10."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def ref_nip_valid(number: str) -> bool:
    """Weights 6,5,7,2,3,4,5,6,7; sum mod 11 equals the last digit, and 10 is never valid."""
    total = sum(w * int(d) for w, d in zip((6, 5, 7, 2, 3, 4, 5, 6, 7), number, strict=False))
    return total % 11 != 10 and total % 11 == int(number[9])


def ref_pesel_check(body: str) -> int:
    total = sum(w * int(d) for w, d in zip((1, 3, 7, 9, 1, 3, 7, 9, 1, 3), body, strict=True))
    return (10 - total % 10) % 10


def ref_pesel_date(day: datetime.date) -> str:
    """YYMMDD with the century in the month: +80 for 18xx, +0 19xx, +20 20xx, +40, +60."""
    offset = {18: 80, 19: 0, 20: 20, 21: 40, 22: 60}[day.year // 100]
    return f"{day.year % 100:02d}{day.month + offset:02d}{day.day:02d}"


def ref_nrb_valid(nrb: str) -> bool:
    """As IBAN "PL" + NRB: move "PL" + check digits to the end, P=25, L=21, mod 97 == 1; the
    check digits themselves are 02..98 (00, 01 and 99 would alias 97, 98 and 02)."""
    return 2 <= int(nrb[:2]) <= 98 and int(nrb[2:] + "2521" + nrb[:2]) % 97 == 1


def ref_nrb(bban: str) -> str:
    return f"{98 - int(bban + '252100') % 97:02d}" + bban


def n_digits(n: int) -> st.SearchStrategy[str]:
    return st.text("0123456789", min_size=n, max_size=n)


def accepts(normalize: Callable[[str], str], value: str) -> bool:
    try:
        normalize(value)
    except InvalidIdentifier:
        return False
    return True


# --- PPE -----------------------------------------------------------------------------------

STOEN_PPE = "590380100012345676"
OTHER_PPE = "590000001234567891"


def test_hand_picked_ppe() -> None:
    for ppe in (STOEN_PPE, OTHER_PPE):
        assert ref_gs1_check(ppe[:-1]) == int(ppe[-1])
        assert ids.normalize_ppe(ppe) == ppe
    assert ids.normalize_ppe(" 590 380 100 012 345 676 ") == STOEN_PPE
    assert ids.is_stoen(STOEN_PPE) and not ids.is_stoen(OTHER_PPE)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("590380100012345670", "check digit is wrong"),
        ("59038010001234567", "must have 18 digits, got 17"),
        ("5903801000123456760", "must have 18 digits, got 19"),
        ("591380100012345673", "must start with 590"),  # valid GS1, not Poland
        ("59038010001234567X", "only digits"),
        ("590-380-100-012-345-676", "only digits"),
        ("", "only digits"),
    ],
)
def test_bad_ppe(value: str, problem: str) -> None:
    with pytest.raises(InvalidIdentifier, match=problem) as info:
        ids.normalize_ppe(value)
    assert info.value.kind == "PPE"


def test_is_stoen_refuses_invalid_ppe() -> None:
    with pytest.raises(InvalidIdentifier):
        ids.is_stoen("590380100012345670")


@given(n_digits(14), st.booleans())
def test_ppe_accepts_exactly_the_gs1_check_digit(serial: str, stoen: bool) -> None:
    body = ids.STOEN_PPE_PREFIX + serial[4:] if stoen else "590" + serial
    assert ean.calc_check_digit(body) == str(ref_gs1_check(body))  # library agrees with rule
    for d in "0123456789":
        assert accepts(ids.normalize_ppe, body + d) == (int(d) == ref_gs1_check(body))
    assert ids.is_stoen(body + str(ref_gs1_check(body))) == body.startswith("5903801")


# --- NIP -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["1234563218", "123-456-32-18", "123-45-63-218", "PL1234563218", "pl 123 456 32 18"]
)
def test_nip_accepted_spellings(value: str) -> None:
    assert ref_nip_valid("1234563218")
    assert ids.normalize_nip(value) == "1234563218"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("1234563217", "check digit is wrong"),
        ("123456321", "must have 10 digits, got 9"),
        ("12345632l8", "only digits"),
        ("DE1234563218", "only digits"),
        ("\u0661234563218", "only digits"),
    ],
)
def test_bad_nip(value: str, problem: str) -> None:
    with pytest.raises(InvalidIdentifier, match=f"NIP: .*{problem}"):
        ids.normalize_nip(value)


@given(n_digits(9))
def test_nip_accepts_exactly_the_rule(body: str) -> None:
    for d in "0123456789":
        assert accepts(ids.normalize_nip, body + d) == ref_nip_valid(body + d)


# --- PESEL ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["44051401359", "02220803629"])
def test_hand_picked_pesel(value: str) -> None:
    assert ref_pesel_check(value[:10]) == int(value[10])
    assert ids.normalize_pesel(value) == value


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("44051401358", "check digit is wrong"),
        ("44131401350", "birth date"),  # month 13; the check digit itself is right
        ("44023001356", "birth date"),  # 30 February
        ("4405140135", "must have 11 digits"),
        ("44 051401359", "only digits"),
    ],
)
def test_bad_pesel(value: str, problem: str) -> None:
    with pytest.raises(InvalidIdentifier, match=f"PESEL: .*{problem}"):
        ids.normalize_pesel(value)


@given(st.dates(datetime.date(1800, 1, 1), datetime.date(2299, 12, 31)), n_digits(4))
def test_pesel_accepts_exactly_the_check_digit(born: datetime.date, serial: str) -> None:
    body = ref_pesel_date(born) + serial
    for d in "0123456789":
        assert accepts(ids.normalize_pesel, body + d) == (int(d) == ref_pesel_check(body))


# --- NRB -----------------------------------------------------------------------------------

NRB_DIGITS = "27114020040000300201355387"


def test_hand_picked_nrb() -> None:
    assert ref_nrb("114020040000300201355387") == NRB_DIGITS and ref_nrb_valid(NRB_DIGITS)
    for spelling in (NRB_DIGITS, "PL27 1140 2004 0000 3002 0135 5387", "pl" + NRB_DIGITS):
        assert ids.normalize_nrb(spelling) == NRB_DIGITS
    assert ids.format_nrb("PL" + NRB_DIGITS) == "27 1140 2004 0000 3002 0135 5387"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("28114020040000300201355387", "check digits are wrong"),
        ("27114020040000300201355388", "check digits are wrong"),
        ("2711402004000030020135538", "must have 26 digits, got 25"),
        ("DE27114020040000300201355387", "only digits"),
        ("27-1140-2004-0000-3002-0135-5387", "only digits"),
    ],
)
def test_bad_nrb(value: str, problem: str) -> None:
    with pytest.raises(InvalidIdentifier, match=f"NRB: .*{problem}"):
        ids.normalize_nrb(value)
    with pytest.raises(InvalidIdentifier):
        ids.format_nrb(value)


@given(n_digits(24), st.integers(0, 99))
def test_nrb_accepts_exactly_mod_97(bban: str, check: int) -> None:
    nrb = ref_nrb(bban)
    assert ids.normalize_nrb(nrb) == nrb
    candidate = f"{check:02d}{bban}"
    assert accepts(ids.normalize_nrb, candidate) == ref_nrb_valid(candidate)
    assert ref_nrb_valid(candidate) == (candidate == nrb)
    assert ids.format_nrb(nrb).replace(" ", "") == nrb


# --- legacy PPE, partner number, login -----------------------------------------------------


@pytest.mark.parametrize(
    ("value", "normalized"),
    [("PLRWEB 0001/23", "PLRWEB 0001/23"), ("  x  ", "x"), ("ą" * 40, "ą" * 40)],
)
def test_legacy_ppe(value: str, normalized: str) -> None:
    assert ids.normalize_legacy_ppe(value) == normalized


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", "must not be empty"),
        ("   ", "must not be empty"),
        ("x" * 41, "at most 40"),
        ("ab\ncd", "control characters"),
        ("ab\x00", "control characters"),
        ("ab\u202ecd", "control characters"),  # right-to-left override
        ("ab\u200bcd", "control characters"),  # zero-width space
        ("ab\u2028cd", "control characters"),
    ],
)
def test_bad_legacy_ppe(value: str, problem: str) -> None:
    with pytest.raises(InvalidIdentifier, match=f"legacy PPE: .*{problem}"):
        ids.normalize_legacy_ppe(value)


def test_partner_number() -> None:
    assert ids.PARTNER_NUMBER_LENGTH == 10
    assert ids.normalize_partner_number(" 0012345678 ") == "0012345678"
    for bad, problem in [("001234567", "got 9"), ("00123456789", "got 11"), ("00123A5678", "")]:
        with pytest.raises(InvalidIdentifier, match=f"partner number: .*{problem}"):
            ids.normalize_partner_number(bad)


@pytest.mark.parametrize(
    ("value", "normalized"),
    [("Jan.Kowalski", "jan.kowalski"), ("abc", "abc"), ("7_a-b", "7_a-b"), ("A" * 64, "a" * 64)],
)
def test_login(value: str, normalized: str) -> None:
    assert ids.normalize_login(value) == normalized


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("ab", "3-64 characters, got 2"),
        ("a" * 65, "3-64 characters, got 65"),
        (".jan", "start with a letter or digit"),
        ("-jan", "start with a letter or digit"),
        ("_jan", "start with a letter or digit"),
        ("jan kowalski", "only ASCII letters"),
        ("jan@example.pl", "only ASCII letters"),
        ("jań", "only ASCII letters"),
        ("\u212aelvin", "only ASCII letters"),  # KELVIN SIGN lower-cases to ASCII "k"
        ("jan\n", "only ASCII letters"),
        ("ja\x00n", "only ASCII letters"),
    ],
)
def test_bad_login(value: str, problem: str) -> None:
    with pytest.raises(InvalidIdentifier, match=f"login: .*{problem}"):
        ids.normalize_login(value)


@given(st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._-]{2,63}\Z"))
def test_login_is_case_insensitive(login: str) -> None:
    normalized = ids.normalize_login(login)
    assert normalized == login.lower() == ids.normalize_login(login.upper())
    assert ids.normalize_login(normalized) == normalized


# --- workflow ids and masking --------------------------------------------------------------

KEY = b"k" * 32


def test_hmac_id_known_answer() -> None:
    mac = hmac.new(KEY, b"registration\x00jan.kowalski", hashlib.sha256).hexdigest()
    suffix = ids.hmac_id(KEY, "registration", "jan.kowalski").split("-", 1)[1]
    assert re.fullmatch(r"[a-z2-7]{26}", suffix)
    assert base64.b32decode(suffix.upper() + "======")[:16] == bytes.fromhex(mac)[:16]


def test_hmac_id_properties() -> None:
    one = ids.hmac_id(KEY, "registration", "44051401359")
    assert one == ids.hmac_id(KEY, "registration", "44051401359")
    assert "44051401359" not in one and one.startswith("registration-")
    assert one != ids.hmac_id(b"j" * 32, "registration", "44051401359")
    assert one[-26:] != ids.hmac_id(KEY, "linking", "44051401359")[-26:]


@pytest.mark.parametrize(
    ("key", "prefix", "natural", "problem"),
    [
        (b"short", "registration", "x", "at least 16 bytes"),
        (KEY, "registration", "", "natural key"),
        (KEY, "", "x", "prefix"),
        (KEY, "a b", "x", "prefix"),
        (KEY, "rejestracja-ł", "x", "prefix"),
    ],
)
def test_hmac_id_refuses(key: bytes, prefix: str, natural: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        ids.hmac_id(key, prefix, natural)


def test_opaque_id() -> None:
    made = {ids.opaque_id("outage") for _ in range(1000)}
    assert len(made) == 1000
    assert all(re.fullmatch(r"outage-[a-z2-7]{26}", i) for i in made)
    with pytest.raises(ValueError, match="prefix"):
        ids.opaque_id("bad prefix")


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("jan.kowalski@example.pl", "j***@e***.pl"),
        ("a@mail.example.co.uk", "a***@m***.uk"),
        ("x@localhost", "x***@l***"),
        ("not-an-address", "***"),
        ("@example.pl", "***"),
        ("jan@", "***"),
    ],
)
def test_mask_email(address: str, masked: str) -> None:
    assert ids.mask_email(address) == masked


# --- as pydantic fields --------------------------------------------------------------------


class Customer(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    ppe: PPE
    old_ppe: LegacyPPE | None = None
    nip: NIP | None = None
    pesel: PESEL | None = None
    accounts: list[NRB] = []
    partner: PartnerNumber | None = None
    login: Login | None = None


def test_fields_normalize() -> None:
    c = Customer.model_validate_json(
        '{"ppe": "590 380 100 012 345 676", "nip": "PL 123-456-32-18", "pesel": "44051401359",'
        ' "accounts": ["PL27 1140 2004 0000 3002 0135 5387"], "partner": "0012345678",'
        ' "login": "Jan.K", "old_ppe": " PLRWE 1 "}'
    )
    assert (c.ppe, c.nip, c.login, c.old_ppe) == (STOEN_PPE, "1234563218", "jan.k", "PLRWE 1")
    assert c.accounts == [NRB_DIGITS] and c.pesel == "44051401359"


@pytest.mark.parametrize(
    ("field", "value", "error_type", "problem"),
    [
        ("ppe", "590380100012345670", "ppe_invalid", "PPE: check digit is wrong"),
        ("nip", "1234563217", "nip_invalid", "NIP: check digit is wrong"),
        ("pesel", "44051401358", "pesel_invalid", "PESEL: check digit is wrong"),
        ("partner", "123", "partner_number_invalid", "partner number: must have 10"),
        ("login", "ab", "login_invalid", "login: must be 3-64"),
        ("old_ppe", "", "legacy_ppe_invalid", "legacy PPE: must not be empty"),
    ],
)
def test_field_errors_name_field_and_problem(
    field: str, value: str, error_type: str, problem: str
) -> None:
    data = {"ppe": STOEN_PPE, field: value}
    with pytest.raises(ValidationError) as info:
        Customer.model_validate(data)
    (error,) = info.value.errors()
    assert error["loc"] == (field,) and error["type"] == error_type
    assert error["msg"].startswith(problem)
    if value:  # the message never repeats the input, and hide_input_in_errors keeps it out
        assert value not in error["msg"] and value not in str(info.value)


def test_list_error_location() -> None:
    with pytest.raises(ValidationError) as info:
        Customer.model_validate({"ppe": STOEN_PPE, "accounts": [NRB_DIGITS, "1" * 26]})
    (error,) = info.value.errors()
    assert error["loc"] == ("accounts", 1) and error["type"] == "nrb_invalid"


def test_non_strings_are_refused() -> None:
    with pytest.raises(ValidationError) as info:
        Customer.model_validate({"ppe": 590380100012345676})
    assert info.value.errors()[0]["type"] == "string_type"
