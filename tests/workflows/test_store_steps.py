"""Short store steps: a local activity first, an ordinary activity once the local attempts
(LOCAL_RETRY) have failed; a business refusal is raised at once."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from workflows.common import LOCAL_RETRY, error_type, run_store_step

pytestmark = pytest.mark.asyncio(loop_scope="session")

STEP = "test.store_step"


@workflow.defn(sandboxed=False)  # defined in a test module; the helper is what is tested
class OneStoreStep:
    @workflow.run
    async def run(self, mode: str) -> str:
        try:
            result: str = await run_store_step(STEP, mode, result_type=str)
        except ActivityError as err:  # what the workflows catch
            return f"refused: {error_type(err)}"
        return result


@activity.defn(name=STEP)
async def store_step(mode: str) -> str:
    local = activity.info().is_local
    if mode == "refused":
        raise ApplicationError("taken meanwhile", type="Taken", non_retryable=True)
    if mode == "down while local" and local:
        raise ApplicationError("database unreachable")  # retryable
    return "local" if local else "ordinary"


async def run(env: WorkflowEnvironment, mode: str) -> tuple[str, list[EventType.ValueType]]:
    queue = f"store-steps-{uuid.uuid4().hex}"
    async with Worker(
        env.client, task_queue=queue, workflows=[OneStoreStep], activities=[store_step]
    ):
        handle = await env.client.start_workflow(
            OneStoreStep.run,
            mode,
            id=f"store-step-{uuid.uuid4().hex}",
            task_queue=queue,
            execution_timeout=timedelta(seconds=50),
        )
        try:
            result = await handle.result()
        finally:
            types = [e.event_type async for e in handle.fetch_history_events()]
    return result, types


async def test_a_step_runs_locally_without_activity_events(env: WorkflowEnvironment) -> None:
    result, types = await run(env, "ok")
    assert result == "local"
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED not in types
    assert types.count(EventType.EVENT_TYPE_MARKER_RECORDED) == 2  # the patch and the step


async def test_a_step_failing_locally_goes_to_the_server(env: WorkflowEnvironment) -> None:
    result, types = await run(env, "down while local")
    assert result == "ordinary"
    assert types.count(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) == 1
    assert LOCAL_RETRY.maximum_attempts == 4  # about 7 s: keeps this test short


async def test_a_refusal_is_raised_at_once(env: WorkflowEnvironment) -> None:
    result, types = await run(env, "refused")
    assert result == "refused: Taken"
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED not in types
