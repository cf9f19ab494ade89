"""Incoming transfers from a bank statement (CSV, MT940 or camt.053), and the individual account
numbers they target.

Each partner pays to their own virtual account (the bank's 8-digit settlement number, then an
id made from the partner number), so the target account says who paid, whatever the title.
Whatever the format (told from the content, or named by the caller), every credit goes through
the same validation, ``IncomingTransfer``. Parsing only validates: bad rows are reported by line
and field (never the value: names and accounts are personal data) and applying the good rows to
invoices is the caller's business, keyed on ``bank_reference`` so a statement loaded twice pays
nothing twice.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from os import PathLike
from pathlib import Path
from typing import IO, Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict
from pydantic_core import PydanticCustomError
from stdnum import iban
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.iso7064 import mod_97_10

from ebok.csv_rows import (
    FORMULA_PREFIXES,
    ImportFileError,
    RowError,
    RowsReport,
    check_header,
    read_rows,
    utf8_lines,
    validate_row,
)
from ebok.ids import (
    NRB,
    PARTNER_NUMBER_LENGTH,
    InvalidIdentifier,
    normalize_nrb,
    normalize_partner_number,
)
from ebok.money import Money, MoneyError
from facade.bank_camt import looks_like_camt, read_camt053
from facade.bank_entries import Entries, Row
from facade.bank_mt940 import decode_mt940, looks_like_mt940, read_mt940

__all__ = ["COLUMNS", "FORMATS", "IncomingTransfer", "StatementFormat", "StatementReport"]
__all__ += ["detect_format", "individual_nrb", "parse_bank_statement", "partner_of_nrb"]

COLUMNS: tuple[str, ...] = ("booking_date", "amount", "currency", "target_account")
COLUMNS += ("sender_account", "sender_name", "title", "bank_reference")
StatementFormat = Literal["csv", "mt940", "camt053"]
FORMATS: tuple[StatementFormat, ...] = get_args(StatementFormat)
_SNIFF = 65536  # characters enough to tell a format by
NAME_MAX, TITLE_MAX = 200, 500  # a title is 4 × 35 characters in Elixir; some banks add more
ACCOUNT_ID_DIGITS = 16  # the part of an NRB after the settlement number


def _amount(value: Any) -> Money:
    # A CSV cell goes through Money.parse, as a bank writes "150" for 150,00 zł (which the
    # wire format refuses); a model read back from JSON carries integer grosze.
    try:
        if isinstance(value, Money):
            money = value
        elif type(value) is int:
            money = Money(value)
        elif isinstance(value, str):
            money = Money.parse(value)
        else:
            raise PydanticCustomError("money", 'must be a string like "123,45" or grosze')
    except MoneyError as e:
        raise PydanticCustomError("money", str(e)) from None
    if money.grosze <= 0:
        raise PydanticCustomError("money", "an incoming transfer must be more than 0")
    return money


def _day(value: Any) -> Any:
    # ISO or the Polish "05.11.2026" that banks export; nothing pydantic would also guess.
    if isinstance(value, str) and (m := re.fullmatch(r"([0-9]{2})\.([0-9]{2})\.([0-9]{4})", value)):
        return f"{m[3]}-{m[2]}-{m[1]}"
    if isinstance(value, str) and not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise PydanticCustomError("format", 'must be a date like "2026-11-05" or "05.11.2026"')
    return value


def _pln(value: str) -> str:
    if value.strip().upper() != "PLN":
        raise PydanticCustomError("currency", "only PLN transfers are accepted")
    return "PLN"


def _account(value: str) -> str:
    """A Polish NRB, or a foreign IBAN (a transfer from abroad); compact either way."""
    compact = re.sub(r"\s", "", value).upper()
    if compact[:2].isalpha() and compact[:2] != "PL":
        try:
            return str(iban.validate(compact))
        except StdnumError:
            raise PydanticCustomError("iban", "not a valid IBAN") from None
    try:
        return normalize_nrb(compact)
    except InvalidIdentifier as e:
        raise PydanticCustomError("nrb_invalid", str(e)) from None


def _text(limit: int, *, required: bool) -> AfterValidator:
    def clean(value: str) -> str:
        # What a customer typed in their banking app: keep the payment, lose anything that
        # would make a spreadsheet run a formula or reorder the text (bidi controls).
        text = "".join(
            " " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c
            for c in value
            if unicodedata.category(c) != "Cf"
        )
        text = " ".join(text.split())
        while text.startswith(FORMULA_PREFIXES):
            text = text[1:].lstrip()
        if required and not text:
            raise PydanticCustomError("format", "must not be empty")
        if len(text) > limit:
            raise PydanticCustomError("format", f"must be at most {limit} characters")
        return text

    return AfterValidator(clean)


def _optional_account(value: str) -> str | None:
    return _account(value) if value else None


def _reference(value: str) -> str:
    # Starting with a letter or digit also keeps a formula out of the key column.
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9/._-]{0,63}", value):
        raise PydanticCustomError("format", "must be 1-64 of letters, digits, / . _ - (no spaces)")
    return value


class IncomingTransfer(BaseModel):
    """One validated credit on our account."""

    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)

    booking_date: Annotated[date, BeforeValidator(_day)]
    amount: Annotated[Money, BeforeValidator(_amount)]
    currency: Annotated[str, AfterValidator(_pln)]
    target_account: NRB  # the partner's individual account: see partner_of_nrb
    sender_account: Annotated[str | None, AfterValidator(_optional_account)]  # empty: cash
    sender_name: Annotated[str, _text(NAME_MAX, required=True)]
    title: Annotated[str, _text(TITLE_MAX, required=False)]
    bank_reference: Annotated[str, AfterValidator(_reference)]  # the bank's unique id


@dataclass
class StatementReport(RowsReport):
    transfers: list[IncomingTransfer] = field(default_factory=list)
    skipped: int = 0  # debits, reversals and entries not yet booked: no payment to us

    def summary(self) -> str:
        good, bad = len(self.transfers), len(self.bad_lines)
        skipped = f", {self.skipped} skipped (debits, reversals)" if self.skipped else ""
        return f"{self.rows_read} rows read, {good} transfers, {bad} bad{skipped}"


def _validated(rows: Iterable[Row], report: StatementReport) -> StatementReport:
    """Each row through ``IncomingTransfer``; a bank reference seen before is a bad row."""
    seen: dict[str, int] = {}
    for line, record in rows:
        report.rows_read += 1
        if isinstance(record, RowError):
            report.bad.append(record)
            continue
        parsed = validate_row(line, IncomingTransfer, record)
        if isinstance(parsed, list):
            report.bad.extend(parsed)
        elif (first := seen.setdefault(parsed.bank_reference, line)) != line:
            report.bad.append(RowError(line, "bank_reference", f"repeats line {first}"))
        else:
            report.transfers.append(parsed)
    return report


def _csv(lines: Iterator[str]) -> StatementReport:
    header = partial(check_header, columns=COLUMNS)
    return _validated(read_rows(lines, header, amount_column="amount"), StatementReport())


def detect_format(head: str) -> StatementFormat:
    """The format of a statement from its first characters: XML is camt.053 (its reader says
    so if it is other XML), a line starting ":20:" is MT940, a header row is CSV."""
    if looks_like_camt(head):
        return "camt053"
    if looks_like_mt940(head):
        return "mt940"
    first = head.lstrip("\ufeff").partition("\n")[0]
    if not head.strip() or "," in first or ";" in first or "booking_date" in first.lower():
        return "csv"  # an empty or wrongly headed CSV is reported by the CSV reader
    raise ImportFileError(
        "not a bank statement in a known format: a CSV with the header "
        f"{','.join(COLUMNS)}, an MT940 (ZBP) or a camt.053 file"
    )


def _content(source: str | PathLike[str] | IO[str] | IO[bytes]) -> str | bytes:
    if isinstance(source, str | PathLike):
        try:
            return Path(source).read_bytes()
        except OSError as e:
            raise ImportFileError(f"cannot read the file: {e.strerror or e}") from None
    try:
        return source.read()
    except UnicodeDecodeError:
        raise ImportFileError("not UTF-8 text (save as CSV UTF-8)") from None
    except OSError as e:
        raise ImportFileError(f"cannot read the file: {e.strerror or e}") from None


def parse_bank_statement(
    source: str | PathLike[str] | IO[str] | IO[bytes], format: str | None = None
) -> StatementReport:
    """The transfers of a statement (a path, or an open stream) and its bad rows.

    ``format`` is one of FORMATS, or None to tell it from the content. Raises ImportFileError
    if the file cannot be used at all (unreadable, unknown format, not UTF-8 CSV, a wrong
    header, MT940 or XML that cannot be read, balances that do not add up).
    """
    if format is not None and format not in FORMATS:
        raise ImportFileError(f"unknown statement format {format!r} (one of {', '.join(FORMATS)})")
    data = _content(source)
    head = data[:_SNIFF] if isinstance(data, str) else data[:_SNIFF].decode("utf-8", "replace")
    kind = format or detect_format(head)
    if kind == "csv":
        return _csv(
            iter(io.StringIO(data)) if isinstance(data, str) else utf8_lines(io.BytesIO(data))
        )
    entries: Entries
    if kind == "mt940":
        entries = read_mt940(data if isinstance(data, str) else decode_mt940(data))
    elif isinstance(data, str):  # decoded already: the XML's own declaration no longer holds
        entries = read_camt053(data.encode(), "utf-8")
    else:
        entries = read_camt053(data)
    skipped = entries.skipped  # read, counted, not validated
    return _validated(entries.rows, StatementReport(rows_read=skipped, skipped=skipped))


def _settlement_number(bank_prefix: str) -> str:
    """The bank's 8-digit settlement number (numer rozliczeniowy) with its check digit."""
    if not re.fullmatch("[0-9]{8}", bank_prefix):
        raise InvalidIdentifier("bank prefix", "must have 8 digits")
    weights = (3, 9, 7, 1, 3, 9, 7)
    check = (10 - sum(int(d) * w for d, w in zip(bank_prefix, weights, strict=False)) % 10) % 10
    if int(bank_prefix[7]) != check:
        raise InvalidIdentifier("bank prefix", "check digit of the settlement number is wrong")
    return bank_prefix


def individual_nrb(bank_prefix: str, partner_number: str) -> str:
    """The partner's virtual account: "PP" + settlement number + the partner number padded to
    16 digits, with the IBAN check digits "PP" (ISO 7064 mod 97-10 over BBAN + "PL00")."""
    account_id = normalize_partner_number(partner_number).zfill(ACCOUNT_ID_DIGITS)
    bban = _settlement_number(bank_prefix) + account_id
    return mod_97_10.calc_check_digits(bban + "PL") + bban


def partner_of_nrb(nrb: str, bank_prefix: str) -> str | None:
    """The partner whose individual account ``nrb`` is, or None if it is not one of ours."""
    number = normalize_nrb(nrb)  # the check digits, too
    if number[2:10] != _settlement_number(bank_prefix):
        return None
    padding, partner = number[10:-PARTNER_NUMBER_LENGTH], number[-PARTNER_NUMBER_LENGTH:]
    return None if padding.strip("0") else partner
