"""Properties of the statement readers: transfers written as MT940 or camt.053 read back the
same; garbage and damaged files give our error and nothing else."""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from ebok.csv_rows import ImportFileError
from facade.bank_entries import nrb_of_parts
from facade.bank_statement import (
    FORMATS,
    IncomingTransfer,
    StatementReport,
    individual_nrb,
    parse_bank_statement,
)
from tests.bank_files import write_camt053, write_mt940
from tests.test_bank_formats import BANK, CAMT, MT940, from_text

letters = st.characters(categories=["L", "N", "P", "S", "Zs"], exclude_characters="~")
partner = st.integers(min_value=1, max_value=10**10 - 1).map(lambda n: f"{n:010d}")
sender = st.one_of(
    st.none(),
    st.integers(min_value=0, max_value=10**16 - 1).map(
        lambda n: nrb_of_parts("10202892", f"{n:016d}")
    ),
    st.just("DE89370400440532013000"),
)


reference = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9/._-]{0,15}", fullmatch=True)


@st.composite
def transfers(draw: st.DrawFn) -> list[IncomingTransfer]:
    refs = draw(st.lists(reference, min_size=1, max_size=6, unique=True))
    out = []
    for ref in refs:
        cells = {
            "booking_date": draw(st.dates(date(2000, 1, 1), date(2069, 12, 31))).isoformat(),
            "amount": draw(st.integers(1, 10**11)),
            "currency": "PLN",
            "target_account": individual_nrb(BANK, draw(partner)),
            "sender_account": draw(sender) or "",
            "sender_name": draw(st.text(letters, min_size=1, max_size=45)),
            "title": draw(st.text(letters, max_size=140)),
            "bank_reference": ref,
        }
        try:
            out.append(IncomingTransfer.model_validate(cells))
        except ValidationError:
            assume(False)
    return out


def by_reference(items: list[IncomingTransfer]) -> list[IncomingTransfer]:
    return sorted(items, key=lambda t: t.bank_reference)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(transfers(), st.sampled_from(["~", "<"]))
def test_transfers_written_as_mt940_read_back_the_same(
    written: list[IncomingTransfer], separator: str
) -> None:
    assume(all(separator not in t.title + t.sender_name for t in written))
    report = from_text(write_mt940(written, separator))
    assert report.ok, report.bad
    assert by_reference(report.transfers) == by_reference(written)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(transfers(), st.sampled_from(["02", "08"]))
def test_transfers_written_as_camt053_read_back_the_same(
    written: list[IncomingTransfer], version: str
) -> None:
    report = parse_bank_statement(io.BytesIO(write_camt053(written, version).encode()))
    assert report.ok, report.bad
    assert by_reference(report.transfers) == by_reference(written)


def consistent(report: StatementReport) -> None:
    assert report.rows_read == len(report.transfers) + len(report.bad_lines) + report.skipped


@settings(max_examples=200, deadline=None)
@given(st.text(), st.sampled_from([None, *FORMATS]))
def test_garbage_text_is_refused_with_our_error_only(text: str, format: str | None) -> None:
    try:
        consistent(from_text(text, format))
    except ImportFileError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.binary(), st.sampled_from([None, *FORMATS]))
def test_garbage_bytes_are_refused_with_our_error_only(data: bytes, format: str | None) -> None:
    try:
        consistent(parse_bank_statement(io.BytesIO(data), format))
    except ImportFileError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([MT940, *CAMT.values()]), st.data())
def test_damaged_statements_are_refused_with_our_error_only(
    path: Path, data: st.DataObject
) -> None:
    raw = path.read_bytes()
    start = data.draw(st.integers(0, len(raw)))
    end = data.draw(st.integers(start, min(len(raw), start + 40)))
    patch = data.draw(st.binary(max_size=12) | st.sampled_from([b":61:", b"~20", b"<", b"\n"]))
    try:
        consistent(parse_bank_statement(io.BytesIO(raw[:start] + patch + raw[end:])))
    except ImportFileError as e:
        assert re.search(r"line \d+|MT940|format|empty|UTF-8|header", str(e)), e
