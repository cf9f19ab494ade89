"""Invoice input from billing: valid and consistent, or refused naming the field; amounts in
integer grosze only. Hypothesis for the sums, a table for the named fields."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebok.errors import InvalidInput
from ebok.models import invoice as m
from ebok.money import Money
from facade.bank_statement import individual_nrb
from facade.invoices import issue_input
from tests.workflows.invoices import BANK, lines


def valid(**changes: Any) -> dict[str, Any]:
    items = lines(24567)
    data: dict[str, Any] = {
        "number": "FV/2026/12/00000001",
        "partner_number": "1000000101",
        "contract_account": "100000010101",
        "lines": items,
        "net": sum(x["net"] for x in items),
        "vat": sum(x["vat"] for x in items),
        "gross": 24567,
        "issue_date": "2026-12-01",
        "nrb": individual_nrb(BANK, "1000000101"),
    }
    return data | changes


def test_due_date_defaults_to_fourteen_days_and_amounts_stay_grosze() -> None:
    invoice = issue_input(valid())
    assert invoice.due == date(2026, 12, 15) and invoice.gross == Money(24567)
    assert invoice.model_dump(mode="json")["gross"] == 24567


@given(gross=st.integers(min_value=1, max_value=10**11))
@settings(max_examples=300, deadline=None)
def test_any_positive_gross_split_into_lines_is_accepted(gross: int) -> None:
    items = lines(gross)
    invoice = issue_input(
        valid(
            lines=items,
            gross=gross,
            net=sum(x["net"] for x in items),
            vat=sum(x["vat"] for x in items),
        )
    )
    assert invoice.gross.grosze == gross == invoice.net.grosze + invoice.vat.grosze


@given(
    net=st.integers(min_value=-10, max_value=10**9),
    vat=st.integers(min_value=-10, max_value=10**9),
    gross=st.one_of(st.integers(min_value=-10, max_value=10**13), st.floats(), st.text()),
    due=st.one_of(st.none(), st.dates(date(2026, 1, 1), date(2027, 12, 31))),
)
@settings(max_examples=400, deadline=None)
def test_any_totals_are_consistent_or_refused_naming_a_field(
    net: int, vat: int, gross: Any, due: date | None
) -> None:
    try:
        invoice = issue_input(valid(net=net, vat=vat, gross=gross, due_date=due))
    except InvalidInput as e:
        assert e.errors and set(e.errors) <= {"net", "vat", "gross", "due_date"}, e.errors
    else:
        assert invoice.net + invoice.vat == invoice.gross and invoice.gross.grosze > 0
        assert invoice.due >= invoice.issue_date


BAD: list[tuple[dict[str, Any], str]] = [
    ({"number": "FV 1"}, "number"),
    ({"partner_number": "12345"}, "partner_number"),
    ({"contract_account": "12"}, "contract_account"),
    ({"nrb": "61109010140000071219812875"}, "nrb"),  # check digits wrong
    ({"ppe": "590380100001001379"}, "ppe"),
    ({"gross": 24568}, "gross"),
    ({"net": 1}, "net"),
    ({"vat": 1}, "vat"),
    ({"gross": "245.67"}, "gross"),  # fine as a string with decimals? no: totals still checked
    ({"gross": 245.67}, "gross"),  # a float cannot hold grosze exactly
    ({"due_date": "2026-11-30"}, "due_date"),
    ({"lines": []}, "lines"),
    ({"correction_of": "FV/2026/12/00000001"}, "correction_of"),
    ({"lines": [{**lines(24567)[0], "vat": 1}]}, "lines.0.gross"),
    ({"lines": [{**lines(24567)[0], "vat_rate": 8}]}, "lines.0.vat"),
    ({"period_from": "2026-12-02", "period_to": "2026-12-01"}, "period_to"),
]


@pytest.mark.parametrize(("change", "field"), BAD)
def test_bad_invoice_names_the_field(change: dict[str, Any], field: str) -> None:
    if change == {"gross": "245.67"}:
        assert issue_input(valid(**change)).gross == Money(24567)  # the same amount, spelt out
        return
    with pytest.raises(InvalidInput) as err:
        issue_input(valid(**change))
    assert field in err.value.errors, err.value.errors


def test_workflow_input_refuses_illegal_notice_periods() -> None:
    invoice = issue_input(valid())
    for bad in ({"demand_after": timedelta(days=29)}, {"notice_period": timedelta(days=13)}):
        with pytest.raises(ValueError):
            m.InvoiceInput(invoice=invoice, **bad)
    assert m.InvoiceInput(invoice=invoice).interest_rates.rate_on(date(2026, 12, 1)) > 0


@given(number=st.from_regex(r"[A-Za-z0-9/_.-]{3,40}", fullmatch=True))
@settings(max_examples=200, deadline=None)
def test_payment_key_leads_back_to_the_invoice(number: str) -> None:
    assert m.invoice_of_key(m.payment_key(number)) == number
    assert len(m.payment_key(number)) <= 64
