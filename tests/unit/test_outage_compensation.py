"""The interruption limits and the bonifikata: each limit just under and just over, the yearly
limit crossed by a later interruption, the amount, and properties over any durations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ebok.models.outage import Kind
from ebok.money import Money
from ebok.outage_compensation import (
    STATUTORY_LIMITS,
    Group,
    Limits,
    compensation,
    limits_for,
    multiplier,
    split_by_year,
    time_over_limit,
    time_over_limits,
)

H = timedelta(hours=1)
S = timedelta(seconds=1)
PLANNED, UNPLANNED = STATUTORY_LIMITS[Kind.PLANNED], STATUTORY_LIMITS[Kind.UNPLANNED]
ZERO_YEAR = timedelta(0)


def test_the_regulations_limits_for_households() -> None:
    assert limits_for(Group.V, Kind.PLANNED) == Limits(single=16 * H, yearly=35 * H)
    assert limits_for(Group.V, Kind.UNPLANNED) == Limits(single=24 * H, yearly=48 * H)
    assert limits_for(Group.IV, Kind.UNPLANNED) == limits_for(Group.V, Kind.UNPLANNED)
    # Groups I-III and VI: the distribution contract sets the limits.
    assert all(limits_for(g, k) is None for g in (Group.III, Group.VI) for k in Kind)


@pytest.mark.parametrize(
    ("limits", "single"), [(PLANNED, 16 * H), (UNPLANNED, 24 * H)], ids=["planned", "unplanned"]
)
def test_single_limit_edges(limits: Limits, single: timedelta) -> None:
    assert time_over_limit(single - S, ZERO_YEAR, limits) == timedelta(0)
    assert time_over_limit(single, ZERO_YEAR, limits) == timedelta(0)
    assert time_over_limit(single + S, ZERO_YEAR, limits) == S
    assert time_over_limit(single + 3 * H, ZERO_YEAR, limits) == 3 * H


@pytest.mark.parametrize(
    ("limits", "yearly"), [(PLANNED, 35 * H), (UNPLANNED, 48 * H)], ids=["planned", "unplanned"]
)
def test_yearly_limit_edges(limits: Limits, yearly: timedelta) -> None:
    short = 10 * H  # each interruption well within the single limit
    earlier = yearly - short
    assert time_over_limit(short - S, earlier, limits) == timedelta(0)
    assert time_over_limit(short, earlier, limits) == timedelta(0)
    assert time_over_limit(short + S, earlier, limits) == S
    # Once the year is over its limit, every later interruption counts whole.
    assert time_over_limit(2 * H, yearly + H, limits) == 2 * H


def test_the_yearly_limit_is_crossed_by_the_second_incident() -> None:
    first = 20 * H
    assert time_over_limit(first, timedelta(0), UNPLANNED) == timedelta(0)
    second = 30 * H  # over 24 h alone by 6 h; over the year's 48 h by 2 h: 6 h counts
    assert time_over_limit(second, first, UNPLANNED) == 6 * H
    third = 5 * H
    assert time_over_limit(third, first + second, UNPLANNED) == 5 * H


def test_the_amount_is_ten_times_the_price_up_to_1_kv() -> None:
    # 2 h over, 1.5 kW drawn in those hours a week earlier, 0.50 zł/kWh: 3 kWh × 10 × 0.50.
    got = compensation(2 * H, Decimal("1.5"), Decimal("0.50"), Group.V)
    assert got == Money.parse("15.00")
    assert compensation(2 * H, Decimal("1.5"), Decimal("0.50"), Group.III) == Money.parse("7.50")
    assert (multiplier(Group.IV), multiplier(Group.VI), multiplier(Group.II)) == (10, 10, 5)
    assert compensation(timedelta(0), Decimal("1.5"), Decimal("0.50"), Group.V) == Money(0)


def test_an_interruption_over_new_year_counts_towards_both_years() -> None:
    start = datetime(2026, 12, 31, 20, 0, tzinfo=UTC)  # 21:00 in Warsaw
    parts = split_by_year(start, start + 10 * H)
    assert parts == [(2026, 3 * H), (2027, 7 * H)]
    # Across the autumn DST change the real hours count, not the wall clock's.
    autumn = datetime(2026, 10, 24, 22, 0, tzinfo=UTC)
    assert split_by_year(autumn, autumn + 24 * H) == [(2026, 24 * H)]


durations = st.integers(min_value=0, max_value=200 * 3600).map(lambda s: timedelta(seconds=s))
kinds = st.sampled_from([PLANNED, UNPLANNED])


@given(durations, durations, durations, kinds)
def test_monotonic_in_duration(a: timedelta, b: timedelta, earlier: timedelta, lim: Limits) -> None:
    shorter, longer = sorted((a, b))
    assert time_over_limit(shorter, earlier, lim) <= time_over_limit(longer, earlier, lim)
    price, kw = Decimal("0.9"), Decimal("2.3")
    assert compensation(time_over_limit(shorter, earlier, lim), kw, price, Group.V) <= (
        compensation(time_over_limit(longer, earlier, lim), kw, price, Group.V)
    )


@given(durations, kinds)
def test_zero_at_or_under_both_limits(duration: timedelta, lim: Limits) -> None:
    within = min(duration, lim.single)
    earlier = lim.yearly - within  # the year exactly full with this one
    assert time_over_limit(within, earlier, lim) == timedelta(0)


@given(durations, durations, kinds)
def test_never_more_than_the_interruption(
    duration: timedelta, earlier: timedelta, lim: Limits
) -> None:
    assert timedelta(0) <= time_over_limit(duration, earlier, lim) <= duration


@given(
    st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
    ),
    durations,
)
def test_split_by_year_adds_up(start: datetime, duration: timedelta) -> None:
    parts = split_by_year(start, start + duration)
    assert sum((p for _, p in parts), timedelta(0)) == duration
    assert [y for y, _ in parts] == sorted({y for y, _ in parts})


@given(durations, durations, kinds)
def test_one_year_is_the_single_part_case(
    duration: timedelta, earlier: timedelta, lim: Limits
) -> None:
    assert time_over_limits([(duration, earlier)], lim) == time_over_limit(duration, earlier, lim)
    # Split over New Year with nothing earlier in the new year: never more than whole.
    half = duration / 2
    split = time_over_limits([(half, earlier), (duration - half, timedelta(0))], lim)
    assert split <= time_over_limit(duration, earlier, lim)
