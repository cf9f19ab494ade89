"""Bank statements in MT940 (ZBP field 86) and camt.053: the same transfers as the CSV, the
same validation, and errors that say where."""

from __future__ import annotations

import io
import logging
import shutil
from pathlib import Path

import pytest
from stdnum import iban

from ebok.csv_rows import ImportFileError
from facade.bank_entries import nrb_of_parts
from facade.bank_mt940 import zbp_details
from facade.bank_statement import (
    IncomingTransfer,
    StatementReport,
    individual_nrb,
    parse_bank_statement,
)
from tests.bank_files import DATA

BANK = "10901014"
MT940 = DATA / "wyciag-pko.sta"
CAMT = {"02": DATA / "wyciag-camt053-001-02.xml", "08": DATA / "wyciag-camt053-001-08.xml"}
SAME_AS_CSV = [MT940, *CAMT.values()]


def text_of(path: Path) -> str:
    return path.read_bytes().decode("cp852" if path.suffix == ".sta" else "utf-8")


def from_text(text: str, format: str | None = None) -> StatementReport:
    return parse_bank_statement(io.StringIO(text), format)


@pytest.fixture(scope="module")
def csv_transfers() -> list[IncomingTransfer]:
    report = parse_bank_statement(DATA / "wyciag.csv")
    assert report.ok and len(report.transfers) == 3
    return report.transfers


@pytest.mark.parametrize("path", SAME_AS_CSV, ids=lambda p: p.name)
def test_each_format_gives_the_csv_transfers(
    path: Path, csv_transfers: list[IncomingTransfer]
) -> None:
    report = parse_bank_statement(path)
    assert report.ok, report.bad
    assert report.transfers == csv_transfers
    # The debit entry is read and skipped, never a transfer nor a bad row.
    assert report.skipped == 1 and report.rows_read == 4
    assert "1 skipped" in report.summary()


def test_the_files_hold_valid_accounts(csv_transfers: list[IncomingTransfer]) -> None:
    accounts = {t.target_account for t in csv_transfers} | {
        t.sender_account for t in csv_transfers if t.sender_account
    }
    assert all(iban.is_valid(a if a[:2].isalpha() else "PL" + a) for a in accounts)
    assert {t.target_account for t in csv_transfers} == {
        individual_nrb(BANK, "1000000101"),
        individual_nrb(BANK, "1000000202"),
    }


def test_the_title_split_over_subfields_keeps_the_invoice_number(
    csv_transfers: list[IncomingTransfer],
) -> None:
    assert "~20Zaplata za FV/2026/12/\r\n~21000101" in text_of(MT940)
    assert "<Ustrd>Zaplata za FV/2026/12/</Ustrd><Ustrd>000101</Ustrd>" in text_of(CAMT["08"])
    assert "FV/2026/12/000101" in parse_bank_statement(MT940).transfers[0].title


def test_the_format_comes_from_the_content_not_the_name(tmp_path: Path) -> None:
    for path in SAME_AS_CSV:
        disguised = tmp_path / "wyciag.csv"
        shutil.copy(path, disguised)
        assert len(parse_bank_statement(disguised).transfers) == 3
    assert parse_bank_statement(MT940, "mt940").transfers == parse_bank_statement(MT940).transfers
    with pytest.raises(ImportFileError, match="header"):
        parse_bank_statement(MT940, "csv")  # named wrongly: the CSV reader says what it lacks
    with pytest.raises(ImportFileError, match="MT940: no statement"):
        parse_bank_statement(CAMT["02"], "mt940")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"transfers": []}', "not a bank statement in a known format"),
        ("%PDF-1.7\n", "not a bank statement in a known format"),
        ("<html><body>wyciąg</body></html>", "not a camt.053 statement"),
        ('<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"/>', "not a camt.053"),
    ],
)
def test_an_unknown_format_is_a_clear_error(content: str, problem: str) -> None:
    with pytest.raises(ImportFileError, match=problem):
        from_text(content)


def test_an_unknown_format_name_is_refused() -> None:
    with pytest.raises(ImportFileError, match="unknown statement format 'mt942'"):
        parse_bank_statement(MT940, "mt942")


@pytest.mark.parametrize("separator", ["<", ">", "^"])
def test_other_banks_zbp_separators(separator: str, csv_transfers: list[IncomingTransfer]) -> None:
    text = text_of(MT940).replace("~", separator)
    assert from_text(text).transfers == csv_transfers


def test_statements_in_swift_and_soh_etx_envelopes(csv_transfers: list[IncomingTransfer]) -> None:
    text = text_of(MT940).replace(":20:", "\x01:20:").replace("-\r\n", "-\x03\r\n")
    assert from_text(text).transfers == csv_transfers
    swift = (
        "{1:F01BPKOPLPWAXXX0000000000}{2:O9400000261202BPKOPLPWAXXX00000000002612020000N}{4:\r\n"
    )
    assert from_text(swift + text_of(MT940) + "-}\r\n").transfers == csv_transfers


def test_a_camt_amount_with_a_third_zero_place(csv_transfers: list[IncomingTransfer]) -> None:
    text = text_of(CAMT["02"]).replace(">245.67</Amt>", ">245.670</Amt>")
    assert from_text(text).transfers == csv_transfers
    text = text_of(CAMT["02"]).replace(
        '<TxAmt><Amt Ccy="PLN">100.00', '<TxAmt><Amt Ccy="PLN">100.001'
    )
    assert [e.field for e in from_text(text).bad] == ["amount"]


def test_an_mt940_in_utf8_reads_the_same(tmp_path: Path) -> None:
    path = tmp_path / "wyciag.sta"
    path.write_text(text_of(MT940), encoding="utf-8")
    report = parse_bank_statement(path)
    assert report.transfers[1].sender_name == "ANNA NOWAK-WIŚNIEWSKA"
    assert report.transfers == parse_bank_statement(MT940).transfers


def test_zbp_subfields() -> None:
    details = zbp_details("020~00PRZELEW~20Zaplata za FV/2026/\n~2112/000101~27JAN~28 NOWAK")
    assert details.title == "Zaplata za FV/2026/12/000101" and details.name == "JAN NOWAK"
    parts = zbp_details("020~3010202892~310000123456789012~32ACME~33 SA~38")
    assert parts.account == nrb_of_parts("10202892", "0000123456789012") and parts.name == "ACME SA"
    assert iban.is_valid("PL" + parts.account)
    assert zbp_details("Przelew bez podpol").title == "Przelew bez podpol"


# --- malformed files ----------------------------------------------------------------------


def mt940_line(text: str, starts: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith(starts))


def test_a_bad_account_is_named_by_line_and_field() -> None:
    text = text_of(MT940)
    bad = text.replace("~38DE89370400440532013000", "~38DE89370400440532013001")
    report = from_text(bad)
    line = mt940_line(text, ":61:2612021202CN100,00")
    assert [(e.line, e.field) for e in report.bad] == [(line, "sender_account")]
    assert len(report.transfers) == 2  # the good ones stand; the bad one is not half-read
    assert "DE89370400440532013001" not in str(report.bad[0])


def test_a_repeated_bank_reference_is_named() -> None:
    text = text_of(MT940).replace("//PKO2612020000004", "//PKO2612020000003")
    report = from_text(text)
    first, again = (mt940_line(text, ":61:2612021202CN" + a) for a in ("1234", "100"))
    assert [str(e) for e in report.bad] == [f"line {again}: bank_reference: repeats line {first}"]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ((":61:2612011201CN245,67", ":61:26120X1201CN245,67"), r"line 5: MT940 field :61: is"),
        (("C261201PLN245,67\r\n:64:", "C261201PLN245,68\r\n:64:"), "line 1: .*do not add up"),
        ((":62F:C261202PLN1334,56\r\n", ""), r"line 26: .*closing balance \(:62F:\)"),
        ((":20:ST261201/1\r\n", ""), "line 1: MT940 field before the first statement"),
        (("C261130PLN1000,00", "C261131PLN1000,00"), "line 1: .*cannot be read"),
    ],
)
def test_a_malformed_mt940_says_where(change: tuple[str, str], problem: str) -> None:
    text = text_of(MT940)
    assert change[0] in text
    with pytest.raises(ImportFileError, match=problem):
        from_text(text.replace(*change, 1))


def test_no_log_repeats_a_field_that_cannot_be_read() -> None:
    # What the application's own logging would write (pytest's capture is left out of it).
    written = io.StringIO()
    handler, root = logging.StreamHandler(written), logging.getLogger()
    root.addHandler(handler)
    level, root.level = root.level, logging.DEBUG
    broken = text_of(MT940).replace(":61:2612011201CN245,67", ":61:26120X1201CN245,67")
    try:
        with pytest.raises(ImportFileError):
            from_text(broken.replace("PKO2612010000001", "JANKOWALSKI1"))
    finally:
        root.removeHandler(handler)
        root.level = level
    assert "JANKOWALSKI1" not in written.getvalue() and "PKO26120" not in written.getvalue()


@pytest.mark.parametrize("version", ["02", "08"])
def test_a_bad_camt_value_is_named_by_line_and_field(version: str) -> None:
    text = text_of(CAMT[version])
    bad = text.replace("<IBAN>DE89370400440532013000", "<IBAN>DE89370400440532013001")
    report = from_text(bad)
    tx = [n for n, line in enumerate(text.splitlines(), 1) if line.strip() == "<TxDtls>"][-1]
    assert [(e.line, e.field) for e in report.bad] == [(tx, "sender_account")]
    assert len(report.transfers) == 2


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (("</Ntry>", "</Ntr>"), r"line \d+: not well-formed XML"),
        (('<Amt Ccy="PLN">5580.23</Amt>', '<Amt Ccy="PLN">5580.24</Amt>'), "do not add up"),
        (("<Cd>CLBD</Cd>", "<Cd>ITBD</Cd>"), r"line 8: .*closing \(CLBD\) balance"),
        (('<Amt Ccy="PLN">1000.00</Amt>', '<Amt Ccy="PLN">1e3</Amt>'), r"Amt is not an amount"),
    ],
)
def test_a_malformed_camt_says_where(change: tuple[str, str], problem: str) -> None:
    text = text_of(CAMT["08"])
    assert change[0] in text
    with pytest.raises(ImportFileError, match=problem):
        from_text(text.replace(*change, 1))


def test_pending_and_reversed_camt_entries_are_skipped() -> None:
    text = text_of(CAMT["08"])
    first = text.index("<Ntry>")
    pending = text.replace("<Cd>BOOK</Cd>", "<Cd>PDNG</Cd>", 1)
    # A pending entry is not in the booked balance either.
    pending = pending.replace('<Amt Ccy="PLN">5580.23', '<Amt Ccy="PLN">5334.56')
    report = from_text(pending)
    assert report.ok and report.skipped == 2 and len(report.transfers) == 2
    reversed_ = text[:first] + text[first:].replace(
        "</CdtDbtInd>", "</CdtDbtInd><RvslInd>true</RvslInd>", 1
    )
    assert from_text(reversed_).skipped == 2


def test_external_entities_are_never_read() -> None:
    text = text_of(CAMT["02"]).replace(
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/hostname">]>',
    )
    text = text.replace("<Ustrd>000101</Ustrd>", "<Ustrd>000101&x;</Ustrd>")
    hostname = Path("/etc/hostname").read_text().strip() if Path("/etc/hostname").exists() else "-"
    report = from_text(text)
    assert all(hostname not in t.title for t in report.transfers)
