"""Activity options and small helpers every workflow shares."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from ebok.models.search import EBOK_PROCESS

# Business refusals raised by activities (ApplicationError types): retrying cannot help.
PERMANENT = ["RecipientRejected", "UnsafeHeader", "RegistrationGone", "Taken", "OperatorRejected"]

EMAIL_TIMEOUT = timedelta(seconds=60)
EMAIL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    maximum_interval=timedelta(minutes=5),
    non_retryable_error_types=PERMANENT,
)
STORE_TIMEOUT = timedelta(seconds=30)
STORE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=30),
    non_retryable_error_types=PERMANENT,
)


def show(values: Mapping[SearchAttributeKey[Any], Any]) -> None:
    """Upsert the search attributes whose value changed; an unchanged one would cost a
    history event and a visibility write for nothing."""
    current = workflow.info().typed_search_attributes
    changed = [key.value_set(v) for key, v in values.items() if current.get(key) != v]
    if changed:
        workflow.upsert_search_attributes(changed)


def ensure_process_attribute(process: str) -> None:
    """Set ``EbokProcess`` unless the starter already did."""
    show({EBOK_PROCESS: process})


def error_type(err: ActivityError) -> str | None:
    """The ApplicationError type behind a failed activity, if there is one."""
    cause = err.cause
    return cause.type if isinstance(cause, ApplicationError) else None


def update_id() -> str:
    """The current update's id: a caller's retry of the same update reuses it."""
    info = workflow.current_update_info()
    assert info is not None, "called outside an update handler"
    return info.id[:64]


async def run_activity(
    name: str,
    arg: object,
    *,
    result_type: type | None = None,
    timeout: timedelta = STORE_TIMEOUT,
    retry: RetryPolicy = STORE_RETRY,
    schedule_to_close: timedelta | None = None,
) -> Any:
    return await workflow.execute_activity(
        name,
        arg,
        result_type=result_type,
        start_to_close_timeout=timeout,
        schedule_to_close_timeout=schedule_to_close,
        retry_policy=retry,
    )
