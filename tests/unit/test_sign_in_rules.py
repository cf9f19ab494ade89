"""The sign-in throttle's rules, without a store: delays, the lock mail, address windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ebok.sign_in_rules import (
    Throttle,
    ThrottleRules,
    after_failure,
    after_success,
    blocked_until,
    client_network,
    ip_window_start,
)

NOW = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)
RULES = ThrottleRules()

rules_st = st.builds(
    ThrottleRules,
    lock_after=st.integers(1, 20),
    first_delay=st.timedeltas(timedelta(seconds=1), timedelta(minutes=10)),
    max_delay=st.timedeltas(timedelta(minutes=10), timedelta(days=1)),
    ip_limit=st.integers(1, 1000),
    ip_window=st.timedeltas(timedelta(seconds=1), timedelta(hours=2)),
)


def run(rules: ThrottleRules, n: int, now: datetime = NOW) -> tuple[Throttle, int]:
    """``n`` failures in a row at ``now``: the state, and how many locked the account."""
    state, locks = Throttle(), 0
    for _ in range(n):
        state, locked = after_failure(rules, state, now)
        locks += locked
    return state, locks


def test_four_failures_block_nothing_the_fifth_blocks_a_minute() -> None:
    four, locks = run(RULES, 4)
    assert blocked_until(four, NOW) is None and locks == 0
    five, locked = after_failure(RULES, four, NOW)
    assert locked and blocked_until(five, NOW) == NOW + timedelta(minutes=1)


def test_the_delay_doubles_up_to_the_cap() -> None:
    delays = [RULES.delay(n) for n in range(1, 14)]
    minutes = [int(d.total_seconds() // 60) for d in delays]
    assert minutes == [0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_the_block_lifts_at_its_end_not_a_second_before() -> None:
    state, _ = run(RULES, 5)
    end = NOW + timedelta(minutes=1)
    assert blocked_until(state, end - timedelta(microseconds=1)) == end
    assert blocked_until(state, end) is None


def test_a_success_ends_the_run_and_the_next_lock_mails_again() -> None:
    state, locks = run(RULES, 7)
    assert locks == 1
    state = after_success(state)
    assert state == Throttle()
    for _ in range(5):
        state, locked = after_failure(RULES, state, NOW)
    assert locked


@given(rules_st, st.integers(0, 200))
def test_one_lock_mail_per_run_whatever_its_length(rules: ThrottleRules, n: int) -> None:
    _, locks = run(rules, n)
    assert locks == (1 if n >= rules.lock_after else 0)


@given(rules_st, st.integers(1, 300))
def test_delay_never_shrinks_and_stays_within_bounds(rules: ThrottleRules, n: int) -> None:
    assert rules.delay(n) <= rules.delay(n + 1) <= rules.max_delay
    if n < rules.lock_after:
        assert rules.delay(n) == timedelta(0)
    else:
        assert rules.delay(n) >= rules.first_delay


@given(st.datetimes(min_value=datetime(2000, 1, 1), timezones=st.just(UTC)), rules_st)
def test_every_instant_is_in_exactly_one_window(now: datetime, rules: ThrottleRules) -> None:
    start = ip_window_start(now, rules.ip_window)
    assert start <= now < start + rules.ip_window
    assert ip_window_start(start, rules.ip_window) == start


@pytest.mark.parametrize(
    ("given_ip", "network"),
    [
        ("192.0.2.7", "192.0.2.7"),
        (" 192.0.2.7 ", "192.0.2.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
    ],
)
def test_an_ipv6_client_counts_by_its_64(given_ip: str, network: str) -> None:
    assert client_network(given_ip) == network


@pytest.mark.parametrize("bad", ["", "localhost", "300.1.1.1", "1.2.3.4\r\n", "::g"])
def test_not_an_address(bad: str) -> None:
    with pytest.raises(ValueError):
        client_network(bad)


def test_rules_refuse_nonsense() -> None:
    with pytest.raises(ValueError):
        ThrottleRules(lock_after=0)
    with pytest.raises(ValueError):
        ThrottleRules(first_delay=timedelta(hours=2), max_delay=timedelta(hours=1))
