"""When a registered notice counts as received (ebok.models.post.received_on) and the earliest
suspension that follows (workflows.invoice_rules.suspension_not_before), at the edges."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from ebok.models.post import LetterFate, LetterState, received_on
from workflows.invoice_rules import suspension_not_before

POSTED = date(2026, 3, 2)
FOURTEEN = timedelta(days=14)


def fate(state: LetterState, **days: date) -> LetterFate:
    return LetterFate(key="FV~1", tracking_id="T-1", state=state, posted_on=POSTED, **days)


def test_each_outcome_gives_its_day() -> None:
    d = POSTED + timedelta(days=3)
    assert received_on(fate(LetterState.POSTED)) is None
    assert received_on(fate(LetterState.DELIVERED, delivered_on=d)) == d
    assert received_on(fate(LetterState.REFUSED, refused_on=d)) == d
    waiting = fate(LetterState.AWAITING_COLLECTION, notice_left_on=d)
    assert received_on(waiting) is None
    collected = fate(LetterState.COLLECTED, notice_left_on=d, collected_on=d + timedelta(days=6))
    assert received_on(collected) == d + timedelta(days=6)
    returned = fate(LetterState.RETURNED, notice_left_on=d, returned_on=d + timedelta(days=15))
    assert received_on(returned) == d + FOURTEEN


def test_delivered_on_day_3_boundary() -> None:
    """Received on the 3rd: the 14 days are the 4th-17th; the request may go on the 18th."""
    received = date(2026, 3, 3)
    at = suspension_not_before(received, FOURTEEN)
    assert at == datetime(2026, 3, 18, tzinfo=UTC)
    assert at > datetime(2026, 3, 17, 23, 59, 59, tzinfo=UTC)  # the last day is the customer's


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)), st.integers(14, 60))
def test_never_before_the_end_of_the_received_day_plus_the_period(
    received: date, days: int
) -> None:
    at = suspension_not_before(received, timedelta(days=days))
    last_day = received + timedelta(days=days)
    assert at.date() == last_day + timedelta(days=1) and at.time() == datetime.min.time()


@pytest.mark.parametrize(
    "state, days, field",
    [
        (LetterState.DELIVERED, {}, "delivered_on"),
        (LetterState.RETURNED, {}, "notice_left_on"),
        (LetterState.DELIVERED, {"delivered_on": POSTED - timedelta(days=1)}, "delivered_on"),
    ],
)
def test_inconsistent_fates_are_refused_naming_the_field(
    state: LetterState, days: dict[str, date], field: str
) -> None:
    with pytest.raises(ValidationError, match=field):
        fate(state, **days)
