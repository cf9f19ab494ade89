"""Late interest: hand-computed values, the rate table's format, and arithmetic properties."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from ebok.interest import (
    DEFAULT_LATE_INTEREST_RATES,
    RateTable,
    RateTableError,
    late_interest,
)
from ebok.money import Money
from ebok.settings import Settings

TABLE = RateTable.parse(DEFAULT_LATE_INTEREST_RATES)


def test_across_a_rate_change() -> None:
    # Nov 1-5 at 10.00 %, Nov 6-10 at 9.75 %: 1000 × (0.10 × 5 + 0.0975 × 5) / 365 = 2.7055
    got = late_interest(Money(100_000), date(2025, 10, 31), date(2025, 11, 10), TABLE)
    assert got == Money(271)


def test_within_one_rate_over_a_leap_february() -> None:
    # 60 days (Jan 11 - Mar 10, 2024) at 11.25 %: 1234.56 × 0.1125 × 60 / 365 = 22.8309
    got = late_interest(Money(123_456), date(2024, 1, 10), date(2024, 3, 10), TABLE)
    assert got == Money(2_283)


def test_half_a_grosz_rounds_up() -> None:
    # 0.73 zł × 10 % × 25 / 365 = exactly half a grosz
    assert late_interest(Money(73), date(2025, 10, 9), date(2025, 11, 3), TABLE) == Money(1)


def test_one_day_late_counts_the_payment_day() -> None:
    # 10 000 zł, 1 day at 9.25 %: 2.534 zł
    assert late_interest(Money(1_000_000), date(2026, 4, 1), date(2026, 4, 2), TABLE) == Money(253)


@pytest.mark.parametrize("paid_on", [date(2026, 4, 1), date(2026, 3, 1)])
def test_paid_on_time_costs_nothing(paid_on: date) -> None:
    assert late_interest(Money(1_000_000), date(2026, 4, 1), paid_on, TABLE) == Money.ZERO


def test_days_before_the_table_are_refused() -> None:
    with pytest.raises(RateTableError, match="no rate before 2016-01-01"):
        late_interest(Money(100), date(2015, 12, 1), date(2016, 2, 1), TABLE)


def test_negative_amount_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        late_interest(Money(-1), date(2025, 1, 1), date(2025, 2, 1), TABLE)


def test_the_default_table_is_the_statutory_history() -> None:
    assert TABLE.rate_on(date(2016, 1, 1)) == Decimal("7.00")
    assert TABLE.rate_on(date(2021, 11, 4)) == Decimal("6.75")  # reference 1.25 + 5.5
    assert TABLE.rate_on(date(2022, 9, 7)) == Decimal("12.00")
    assert TABLE.rate_on(date(2022, 9, 8)) == Decimal("12.25")
    assert TABLE.rate_on(date(2025, 5, 7)) == Decimal("11.25")
    assert TABLE.rate_on(date(2030, 1, 1)) == Decimal("9.25")
    assert str(TABLE) == DEFAULT_LATE_INTEREST_RATES


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "item 1"),
        ("2016-01-01:7.00,", "item 2"),
        ("2016-01-01:7,00", "item 2 .* a dot before the decimals"),
        ("2016-02-30:7.00", "not a date"),
        ("2016-01-01:7.001", "item 1"),
        ("2016-01-01:7.00,2015-01-01:6.00", "dates must increase"),
        ("2016-01-01:7.00,2016-01-01:6.00", "dates must increase"),
        ("2016-01-01:101", "0-100"),
    ],
)
def test_bad_tables_are_refused(text: str, problem: str) -> None:
    with pytest.raises(RateTableError, match=problem):
        RateTable.parse(text)


def test_the_setting_is_checked_and_named() -> None:
    with pytest.raises(ValidationError) as err:
        Settings(late_interest_rates="2016-01-01:7.00,yesterday:5", _env_file=None)
    assert "late_interest_rates" in str(err.value) and "item 2" in str(err.value)
    custom = Settings(late_interest_rates=" 2016-01-01:8 ", _env_file=None)
    assert custom.late_interest_table.rate_on(date(2026, 1, 1)) == Decimal(8)


class _Input(BaseModel):
    rates: RateTable


def test_a_table_travels_in_a_model_as_its_string() -> None:
    dumped = _Input(rates=TABLE).model_dump(mode="json")
    assert dumped == {"rates": DEFAULT_LATE_INTEREST_RATES}
    assert _Input.model_validate(dumped).rates == TABLE
    with pytest.raises(ValidationError, match="rates"):
        _Input.model_validate({"rates": "2016-01-01"})


amounts = st.integers(min_value=0, max_value=10**11).map(Money)
dues = st.dates(min_value=date(2016, 1, 1), max_value=date(2032, 12, 31))
delays = st.integers(min_value=-30, max_value=4000).map(lambda d: timedelta(days=d))


@given(amounts, dues, delays, delays)
def test_monotone_in_days_and_never_negative(
    amount: Money, due: date, a: timedelta, b: timedelta
) -> None:
    early, late = sorted((due + a, due + b))
    first = late_interest(amount, due, early, TABLE)
    assert Money.ZERO <= first <= late_interest(amount, due, late, TABLE)


@given(amounts, amounts, dues, delays)
def test_monotone_and_additive_in_amount(x: Money, y: Money, due: date, delay: timedelta) -> None:
    paid = due + delay
    small, big = sorted((x, y))
    assert late_interest(small, due, paid, TABLE) <= late_interest(big, due, paid, TABLE)
    whole = late_interest(x + y, due, paid, TABLE)
    parts = late_interest(x, due, paid, TABLE) + late_interest(y, due, paid, TABLE)
    assert abs((whole - parts).grosze) <= 1


@given(amounts, dues, st.integers(0, 4000), st.integers(0, 4000))
def test_additive_over_a_split_of_the_days(amount: Money, due: date, a: int, b: int) -> None:
    middle, paid = due + timedelta(days=min(a, b)), due + timedelta(days=max(a, b))
    whole = late_interest(amount, due, paid, TABLE)
    parts = late_interest(amount, due, middle, TABLE) + late_interest(amount, middle, paid, TABLE)
    assert abs((whole - parts).grosze) <= 1
