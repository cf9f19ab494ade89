"""A business debtor's charges: the commercial-transaction rate table, the recovery
compensation's bands at their boundaries, the EUR rate of the month before the due month, and
the demand's charges chosen by the debtor's kind."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from ebok.commercial import (
    DEFAULT_COMMERCIAL_INTEREST_RATES,
    DEFAULT_EUR_PLN_RATES,
    EurRateMissing,
    EurRates,
    commercial_rate_table,
    compensation_eur,
    recovery_compensation,
)
from ebok.interest import RateTableError, late_interest
from ebok.models import invoice as m
from ebok.money import Money
from ebok.settings import Settings
from workflows.invoice_rules import demand_charges, interest_table

TABLE = commercial_rate_table(DEFAULT_COMMERCIAL_INTEREST_RATES)
# Only 2025-10-31 is a real NBP figure (see ebok/commercial.py); the others are made up.
EUR = EurRates.parse("2025-09-30:4.2692,2025-10-31:4.2543,2026-01-30:4.2100")


@pytest.mark.parametrize(
    ("grosze", "eur"),
    [
        (0, 40),
        (499_999, 40),  # 4 999,99 zł
        (500_000, 40),  # 5 000,00 zł: "nie przekracza 5000 złotych"
        (500_001, 70),  # 5 000,01 zł: "wyższa niż 5000 złotych"
        (4_999_999, 70),  # 49 999,99 zł: "niższa niż 50 000 złotych"
        (5_000_000, 100),  # 50 000,00 zł: "równa lub wyższa od 50 000 złotych"
        (5_000_001, 100),
    ],
)
def test_compensation_bands_at_their_boundaries(grosze: int, eur: int) -> None:
    assert compensation_eur(Money(grosze)) == eur


@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=0, max_value=10**12))
def test_compensation_never_falls_as_the_claim_grows(a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert compensation_eur(Money(low)) <= compensation_eur(Money(high))
    assert compensation_eur(Money(high)) in (40, 70, 100)


def test_converted_at_the_last_business_day_of_the_month_before_the_due_month() -> None:
    # Due 2025-11-01 and 2025-11-30 alike: October's last business day, Friday 31 October.
    for due in (date(2025, 11, 1), date(2025, 11, 30)):
        got = recovery_compensation(Money(24567), due, EUR)
        assert (got.eur, got.rate, got.rate_date) == (40, Decimal("4.2543"), date(2025, 10, 31))
        assert got.amount == Money(17017)  # 40 × 4.2543 = 170.172 zł
    # Due on 31 October (the day before): September's rate.
    assert recovery_compensation(Money(1), date(2025, 10, 31), EUR).rate_date == date(2025, 9, 30)
    # 70 × 4.2543 = 297.801 zł, rounded half up to the grosz
    assert recovery_compensation(Money(500_001), date(2025, 11, 3), EUR).amount == Money(29780)


def test_a_missing_month_is_a_clear_error() -> None:
    with pytest.raises(EurRateMissing, match=r"EBOK_EUR_PLN_RATES .* 2025-11 .* 2025-12-15"):
        recovery_compensation(Money(100), date(2025, 12, 15), EUR)
    with pytest.raises(EurRateMissing):
        EurRates.parse("").for_due(date(2026, 1, 1))


@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)))
def test_the_rate_used_is_always_from_the_month_before(due: date) -> None:
    month_end = due.replace(day=1) - timedelta(days=1)
    rates = EurRates.parse(f"{month_end.isoformat()}:4.3000")
    assert rates.for_due(due) == (month_end, Decimal("4.3000"))
    with pytest.raises(EurRateMissing):
        rates.for_due(month_end)  # its own month looks one month further back


def test_commercial_rates_follow_the_half_years() -> None:
    assert TABLE.rate_on(date(2019, 12, 31)) == Decimal("9.50")  # reference rate + 8 pp
    assert TABLE.rate_on(date(2020, 1, 1)) == Decimal("11.50")  # + 10 pp since 2020
    assert TABLE.rate_on(date(2022, 6, 30)) == Decimal("11.75")
    assert TABLE.rate_on(date(2022, 7, 1)) == Decimal("16.00")
    assert TABLE.rate_on(date(2025, 6, 30)) == Decimal("15.75")
    assert TABLE.rate_on(date(2025, 7, 1)) == Decimal("15.25")
    assert TABLE.rate_on(date(2026, 1, 1)) == Decimal("14.00")


def test_a_commercial_rate_must_start_a_half_year() -> None:
    with pytest.raises(RateTableError, match="1 January or 1 July"):
        commercial_rate_table("2016-01-01:9.50,2020-03-18:9.00")
    with pytest.raises(ValidationError, match="commercial_interest_rates"):
        Settings(commercial_interest_rates="2016-02-01:9.50", _env_file=None)
    with pytest.raises(ValidationError, match="eur_pln_rates"):
        Settings(eur_pln_rates="2025-10-31:4,25", _env_file=None)
    custom = Settings(eur_pln_rates=DEFAULT_EUR_PLN_RATES + ",2025-11-28:4.2300", _env_file=None)
    assert custom.eur_pln_table.for_due(date(2025, 12, 1))[1] == Decimal("4.2300")


def test_commercial_interest_by_hand() -> None:
    # 10 000 zł, due 2025-06-30, paid 2025-07-10: 10 days at 15.25 % = 41.78 zł
    got = late_interest(Money(1_000_000), date(2025, 6, 30), date(2025, 7, 10), TABLE)
    assert got == Money(4178)


def _input(debtor: m.Debtor, due: date, gross: int = 24567) -> m.InvoiceInput:
    line = {"description": "Energia", "net": gross, "vat_rate": 0, "vat": 0, "gross": gross}
    invoice = m.IssueInvoice.model_validate(
        {
            "number": "FV/2025/10/00000001",
            "partner_number": "1000000101",
            "contract_account": "100000000001",
            "lines": [line],
            "net": gross,
            "vat": 0,
            "gross": gross,
            "issue_date": due - timedelta(days=14),
            "due_date": due,
            "nrb": "75109010140000001000000101",
        }
    )
    return m.InvoiceInput(invoice=invoice, debtor=debtor, eur_pln_rates=EUR)


def test_the_debtor_decides_the_table_and_the_compensation() -> None:
    due, today = date(2025, 11, 14), date(2025, 12, 14)
    consumer, business = _input("consumer", due), _input("business", due)
    assert interest_table(consumer) is consumer.interest_rates
    assert interest_table(business) is business.commercial_interest_rates
    c = demand_charges(consumer, Money(24567), Money(24567), today)
    b = demand_charges(business, Money(24567), Money(24567), today)
    assert (c.basis, c.compensation, c.problems) == ("statutory", None, ())
    assert b.basis == "commercial" and b.interest > c.interest and not b.problems
    assert b.compensation is not None and b.compensation.amount == Money(17017)


def test_a_missing_eur_rate_leaves_the_compensation_out_and_says_why() -> None:
    business = _input("business", date(2025, 12, 15))
    got = demand_charges(business, Money(24567), Money(24567), date(2026, 1, 20))
    assert got.compensation is None and got.interest.grosze > 0
    assert len(got.problems) == 1 and "EBOK_EUR_PLN_RATES" in got.problems[0]


@given(
    st.integers(min_value=1, max_value=10**9),
    st.integers(min_value=0, max_value=400),
    st.sampled_from(["consumer", "business"]),
)
def test_charges_are_zero_up_to_the_due_date_and_grow_after(
    gross: int, days: int, debtor: m.Debtor
) -> None:
    due = date(2025, 11, 14)
    inp = _input(debtor, due)
    on_time = demand_charges(inp, Money(gross), Money(gross), due)
    assert on_time.interest == Money.ZERO and on_time.compensation is None
    later = demand_charges(inp, Money(gross), Money(gross), due + timedelta(days=days))
    assert later.interest >= on_time.interest
    assert (later.compensation is not None) == (debtor == "business" and days > 0)
