"""The watch's rule for news, and its activity over the sandbox DSO: a status the incident
knows fails as a benign, retryable ``Unchanged``; anything newer is returned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory
from temporalio.testing import ActivityEnvironment

from activities.outage_operator import OperatorCalls
from adapters.operator.sandbox import SandboxOperator
from ebok.models import outage as m
from ebok.store.db import Store

T0 = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
OPEN = m.OperatorStatus(reference="R-1", state=m.OperatorState.OPEN, changed_at=T0)
LATER = T0 + timedelta(minutes=7)


def _req(known: m.OperatorStatus | None) -> m.WatchRequest:
    return m.WatchRequest(incident_id="incident-x", reference="R-1", known=known)


@pytest.mark.parametrize(
    ("known", "status", "news"),
    [
        (None, OPEN, True),  # nothing known yet: whatever the DSO says
        (OPEN, OPEN, False),
        (OPEN, OPEN.model_copy(update={"state": m.OperatorState.ACKNOWLEDGED}), True),
        (OPEN, OPEN.model_copy(update={"changed_at": LATER}), True),
        (OPEN, OPEN.model_copy(update={"expected_restoration": LATER}), True),  # same time
        (OPEN.model_copy(update={"changed_at": LATER}), OPEN, False),  # older: a lagging read
    ],
)
def test_news_is_anything_but_the_known_status_or_older(
    known: m.OperatorStatus | None, status: m.OperatorStatus, news: bool
) -> None:
    assert _req(known).is_news(status) is news


async def _watch(operator: SandboxOperator, req: m.WatchRequest) -> m.OperatorStatus:
    calls = OperatorCalls(cast(Store, None), operator)  # the watch reads the DSO only
    result: Any = await ActivityEnvironment().run(calls.watch_ticket, req)
    return cast(m.OperatorStatus, result)


async def test_the_watch_returns_news_and_fails_benignly_without() -> None:
    operator = SandboxOperator([])
    reference = await operator.simulation.start_storm("T-WATCH")
    first = await _watch(operator, _req(None).model_copy(update={"reference": reference}))
    assert first.reference == reference and first.state is m.OperatorState.OPEN

    same = m.WatchRequest(incident_id="incident-x", reference=reference, known=first)
    with pytest.raises(ApplicationError) as unchanged:
        await _watch(operator, same)
    assert unchanged.value.type == m.UNCHANGED and not unchanged.value.non_retryable
    assert unchanged.value.category is ApplicationErrorCategory.BENIGN

    await operator.simulation.acknowledge(reference)
    news = await _watch(operator, same)
    assert news.state is m.OperatorState.ACKNOWLEDGED and news.changed_at >= first.changed_at


async def test_the_watch_fails_as_the_status_check_does() -> None:
    operator = SandboxOperator([])
    operator.fail_next(1)
    with pytest.raises(ApplicationError) as down:
        await _watch(operator, _req(None))
    assert down.value.type == "OperatorUnavailable" and not down.value.non_retryable
    with pytest.raises(ApplicationError) as unknown:
        await _watch(operator, _req(None))  # no such incident at the DSO
    assert unknown.value.type == "OperatorRejected" and unknown.value.non_retryable
