"""Hypothesis on partner-linking input: valid, or refused naming its fields; never half-read."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from stdnum.ean import calc_check_digit

from ebok.errors import InvalidInput
from ebok.models.linking import LinkRequest

FIELDS = {"partner_number", "invoice_number", "gross_grosze", "ppe", "input"}
digits = st.text(alphabet="0123456789", min_size=0, max_size=20)


@given(
    partner=st.one_of(digits, st.text(max_size=12)),
    invoice=st.none() | st.text(max_size=45),
    gross=st.none() | st.integers(min_value=-10, max_value=10**13),
    ppe=st.none() | st.one_of(digits, st.text(max_size=45)),
)
@settings(max_examples=400, deadline=None)
def test_any_request_is_valid_or_names_its_fields(
    partner: str, invoice: str | None, gross: int | None, ppe: str | None
) -> None:
    try:
        req = LinkRequest.model_validate(
            {
                "partner_number": partner,
                "invoice_number": invoice,
                "gross_grosze": gross,
                "ppe": ppe,
            }
        )
    except ValidationError as e:
        errors = InvalidInput.from_validation(e).errors
        assert errors and set(errors) <= FIELDS
    else:
        assert req.partner_number.isdigit() and len(req.partner_number) == 10
        assert (req.ppe is None) != (req.invoice_number is None)
        assert (req.invoice_number is None) == (req.gross_grosze is None)
        assert req.gross_grosze is None or req.gross_grosze > 0


@given(serial=st.integers(0, 10**10 - 1), wrong=st.integers(1, 9))
@settings(max_examples=200, deadline=None)
def test_ppe_check_digit_decides(serial: int, wrong: int) -> None:
    body = f"5903801{serial:010d}"
    good = body + calc_check_digit(body)
    assert LinkRequest(partner_number="1000000101", ppe=good).ppe == good
    bad = body + str((int(calc_check_digit(body)) + wrong) % 10)
    try:
        LinkRequest(partner_number="1000000101", ppe=bad)
    except ValidationError as e:
        assert set(InvalidInput.from_validation(e).errors) == {"ppe"}
    else:
        raise AssertionError(f"{bad} accepted")
