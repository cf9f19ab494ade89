"""Bank statement CSV: good rows become transfers, bad ones are reported by line and field."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import iban

from ebok.csv_rows import ImportFileError
from ebok.ids import InvalidIdentifier, normalize_nrb
from ebok.money import Money
from facade.bank_statement import (
    COLUMNS,
    IncomingTransfer,
    StatementReport,
    individual_nrb,
    parse_bank_statement,
    partner_of_nrb,
)

BANK = "10901014"  # a settlement number with a correct check digit
HEADER = ",".join(COLUMNS) + "\n"
TARGET = individual_nrb(BANK, "1000000101")
SENDER = "61109010140000071219812874"


GOOD = {"booking_date": "2026-11-20", "amount": '"1 234,56"', "currency": "PLN"}
GOOD |= {"target_account": TARGET, "sender_account": SENDER, "sender_name": "Jan Kowalski"}
GOOD |= {"title": "FV/2026/11/000101", "bank_reference": "REF0001"}


def row(**cells: str) -> str:
    values = GOOD | cells
    return ",".join(values[c] for c in COLUMNS) + "\n"


def statement(*rows: str) -> StatementReport:
    return parse_bank_statement(io.StringIO(HEADER + "".join(rows)))


def test_a_good_row_becomes_a_transfer() -> None:
    report = statement(row())
    assert report.ok and report.rows_read == 1
    (t,) = report.transfers
    assert t.booking_date == date(2026, 11, 20)
    assert t.amount == Money(123_456) and t.currency == "PLN"
    assert t.target_account == TARGET and t.sender_account == SENDER
    assert t.sender_name == "Jan Kowalski" and t.title == "FV/2026/11/000101"
    assert t.bank_reference == "REF0001"
    assert partner_of_nrb(t.target_account, BANK) == "1000000101"


def test_a_transfer_survives_the_wire() -> None:
    # Activities and workflows pass it as JSON: amount as integer grosze, not złoty.
    (t,) = statement(row()).transfers
    again = IncomingTransfer.model_validate_json(t.model_dump_json())
    assert again == t and again.amount == Money(123_456)


@pytest.mark.parametrize(
    ("cells", "amount"),
    [
        ({"amount": "150"}, 15_000),
        ({"amount": "150.5"}, 15_050),
        ({"amount": '"1\u00a0234,56 zł"'}, 123_456),
        ({"amount": "1234.56 PLN"}, 123_456),
    ],
)
def test_polish_amounts(cells: dict[str, str], amount: int) -> None:
    report = statement(row(**cells))
    assert report.ok and report.transfers[0].amount == Money(amount)


def test_semicolons_polish_dates_spaced_accounts_and_a_bom() -> None:
    spaced = "PL " + " ".join([TARGET[:2], *(TARGET[i : i + 4] for i in range(2, 26, 4))])
    cells = ["05.11.2026", "1 234,56", "pln", spaced, "", "Anna Nowak", "", "R-2"]
    text = "\ufeff" + HEADER.replace(",", ";") + ";".join(cells) + "\n"
    report = parse_bank_statement(io.StringIO(text))
    assert report.ok, report.bad
    (t,) = report.transfers
    assert t.booking_date == date(2026, 11, 5) and t.target_account == TARGET
    assert t.sender_account is None and t.title == "" and t.currency == "PLN"


def test_a_transfer_from_abroad_keeps_its_iban() -> None:
    report = statement(row(sender_account="DE89 3704 0044 0532 0130 00"))
    assert report.ok and report.transfers[0].sender_account == "DE89370400440532013000"


@pytest.mark.parametrize(
    ("cells", "field"),
    [
        ({"currency": "EUR"}, "currency"),
        ({"amount": '"0,00"'}, "amount"),
        ({"amount": '"-5,00"'}, "amount"),
        ({"amount": '"1,234"'}, "amount"),
        ({"amount": "=1+1"}, "amount"),
        ({"target_account": TARGET[:-1] + str((int(TARGET[-1]) + 1) % 10)}, "target_account"),
        ({"sender_account": "61109010140000071219812875"}, "sender_account"),
        ({"sender_account": "DE00370400440532013000"}, "sender_account"),
        ({"booking_date": "2026-02-30"}, "booking_date"),
        ({"booking_date": "1762300800"}, "booking_date"),
        ({"sender_name": "=+-"}, "sender_name"),
        ({"bank_reference": "=HYPERLINK(1)"}, "bank_reference"),
        ({"bank_reference": ""}, "bank_reference"),
    ],
)
def test_bad_fields_are_named(cells: dict[str, str], field: str) -> None:
    report = statement(row(), row(**({"bank_reference": "R2"} | cells)))
    assert [(e.line, e.field) for e in report.bad] == [(3, field)]
    assert len(report.transfers) == 1 and report.bad_lines == [3]


def test_errors_never_echo_personal_data() -> None:
    report = statement(row(sender_account="61109010140000071219812875"))
    assert "61109010140000071219812875" not in str(report.bad[0])


def test_formula_prefixes_are_stripped_from_free_text() -> None:
    report = statement(row(sender_name='"=cmd|calc"', title='"@SUM(A1) \u202eFV 1\tx"'))
    (t,) = report.transfers
    assert t.sender_name == "cmd|calc" and t.title == "SUM(A1) FV 1 x"


def test_a_repeated_bank_reference_is_reported() -> None:
    report = statement(row(), row(amount="5"))
    assert [str(e) for e in report.bad] == ["line 3: bank_reference: repeats line 2"]
    assert len(report.transfers) == 1


def test_an_unquoted_decimal_comma_gets_a_hint() -> None:
    report = statement(row(amount="12,50"))
    assert "needs quotes" in report.bad[0].message


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty"),
        ("booking_date,amount\n", "missing columns: currency"),
        (HEADER.strip() + ",iban\n", "unknown columns: 'iban'"),
        (HEADER + '2026-11-20,"12\n', "not valid CSV"),
    ],
)
def test_unusable_files(text: str, problem: str) -> None:
    with pytest.raises(ImportFileError, match=problem):
        parse_bank_statement(io.StringIO(text))


def test_a_file_must_be_utf8(tmp_path: Path) -> None:
    path = tmp_path / "wyciag.csv"
    path.write_bytes(HEADER.encode() + row(sender_name="Łukasz").encode("cp1250"))
    with pytest.raises(ImportFileError, match="line 2: not UTF-8"):
        parse_bank_statement(path)
    path.write_bytes(HEADER.encode() + row(sender_name="Łukasz").encode())
    assert parse_bank_statement(path).transfers[0].sender_name == "Łukasz"


cell = st.text(alphabet=st.characters(codec="utf-8"), max_size=30)


@given(st.lists(st.lists(cell, min_size=0, max_size=10), max_size=6))
def test_malformed_lines_are_reported_never_raised(rows: list[list[str]]) -> None:
    lines = ["\t".join(r).replace("\n", " ").replace("\r", " ") for r in rows]
    body = "".join(f"{line}\n" for line in lines)
    try:
        report = statement(body)
    except ImportFileError as e:
        assert "not valid CSV" in str(e)  # a stray quote: the file is refused, with the line
        return
    assert report.rows_read == len(report.transfers) + len(report.bad_lines)
    assert all(e.line >= 2 for e in report.bad)


CHECKED = ["amount", "currency", "target_account", "booking_date", "bank_reference"]


@given(st.sampled_from(CHECKED), cell)
def test_any_value_in_a_checked_column_parses_or_names_the_column(column: str, value: str) -> None:
    quoted = '"' + value.replace('"', '""') + '"'
    report = statement(row(**{column: quoted}))
    assert report.rows_read == 1
    assert report.ok or {e.field for e in report.bad} <= {column, "row"}


# --- individual account numbers ----------------------------------------------------------


@given(st.integers(min_value=0, max_value=10**10 - 1))
def test_individual_nrb_is_a_valid_iban_that_maps_back(n: int) -> None:
    partner = f"{n:010d}"
    nrb = individual_nrb(BANK, partner)
    assert iban.is_valid("PL" + nrb) and normalize_nrb(nrb) == nrb
    assert nrb[2:10] == BANK and nrb.endswith("000000" + partner)
    assert partner_of_nrb(nrb, BANK) == partner
    assert partner_of_nrb(nrb, "10202892") is None  # another bank's number


def test_accounts_that_are_not_ours_map_to_nobody() -> None:
    assert partner_of_nrb(SENDER, BANK) is None  # same bank, not a virtual account


@pytest.mark.parametrize("prefix", ["1090101", "10901015", "1090101a"])
def test_a_bad_bank_prefix_is_refused(prefix: str) -> None:
    with pytest.raises(InvalidIdentifier, match="bank prefix"):
        individual_nrb(prefix, "1000000101")


def test_a_bad_partner_number_is_refused() -> None:
    with pytest.raises(InvalidIdentifier, match="partner number"):
        individual_nrb(BANK, "12345")
