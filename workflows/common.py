"""Activity options and small helpers every workflow shares."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import TimeoutError as ActivityTimeout

with workflow.unsafe.imports_passed_through():
    from ebok.models.search import EBOK_DEADLINE, EBOK_OUTCOME, EBOK_PROCESS, EBOK_STATUS

# Business refusals raised by activities (ApplicationError types): retrying cannot help.
PERMANENT = ("RecipientRejected", "UnsafeHeader", "RegistrationGone", "Taken", "OperatorRejected")

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
# A short store step is tried this way as a local activity (attempts at about 0, 1, 3 and 7 s)
# before it is handed to the server as an ordinary activity (see run_store_step).
LOCAL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=4),
    maximum_attempts=4,
    non_retryable_error_types=PERMANENT,
)
LOCAL_TIMEOUT = timedelta(seconds=10)
# Patch id of the switch from ordinary to local activities for short store steps; histories
# recorded before it replay the ordinary activities.
LOCAL_STORE_STEPS = "local-store-steps"


def show(values: Mapping[SearchAttributeKey[Any], Any]) -> None:
    """Upsert the search attributes whose value changed; an unchanged one would cost a
    history event and a visibility write for nothing."""
    current = workflow.info().typed_search_attributes
    changed = [key.value_set(v) for key, v in values.items() if current.get(key) != v]
    if changed:
        workflow.upsert_search_attributes(changed)


def show_status(
    status: str,
    *,
    deadline: datetime | None = None,
    final: bool = False,
    also: Mapping[SearchAttributeKey[Any], Any] | None = None,
) -> None:
    """``EbokStatus`` (and ``also``), the next deadline if there is one, and ``EbokOutcome``
    once the process has ended: what operators filter on."""
    values: dict[SearchAttributeKey[Any], Any] = {EBOK_STATUS: status, **(also or {})}
    if deadline is not None:
        values[EBOK_DEADLINE] = deadline
    if final:
        values[EBOK_OUTCOME] = status
    show(values)


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


async def run_store_step(name: str, arg: object, *, result_type: type | None = None) -> Any:
    """A short store transaction, run as a local activity in the workflow task that needs it.

    That costs one marker event instead of three activity events and the workflow task that
    reports the result, and answers an update in the task that accepted it. Local retries
    would make the workflow task heartbeat (three events each time) through a long database
    outage, so after ``LOCAL_RETRY``'s attempts the step goes to the server as an ordinary activity,
    whose retries cost the history nothing. The step is idempotent like every activity, so
    running it again there is safe; a business refusal is raised at once, as before."""
    if not workflow.patched(LOCAL_STORE_STEPS):
        return await run_activity(name, arg, result_type=result_type)
    try:
        return await workflow.execute_local_activity(
            name,
            arg,
            result_type=result_type,
            start_to_close_timeout=LOCAL_TIMEOUT,
            retry_policy=LOCAL_RETRY,
        )
    except (ActivityError, ApplicationError) as err:
        # A local activity's failure may arrive as the ApplicationError itself, not wrapped;
        # callers get an ActivityError either way, as from an ordinary activity.
        cause = err.cause if isinstance(err, ActivityError) else err
        out_of_patience = isinstance(cause, ActivityTimeout) or (
            isinstance(cause, ApplicationError)
            and not cause.non_retryable
            and cause.type not in PERMANENT
        )
        if out_of_patience:
            pass  # below: the server takes over
        elif isinstance(err, ActivityError):
            raise
        else:
            raise ActivityError(
                "local activity failed",
                scheduled_event_id=0,
                started_event_id=0,
                identity="",
                activity_type=name,
                activity_id="",
                retry_state=None,
            ) from err
    return await run_activity(name, arg, result_type=result_type)


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
