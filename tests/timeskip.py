"""Waiting for a workflow's result on the time-skipping server.

``handle.result()`` there long-polls without skipping time when the workflow needs its own
timers to finish, so advance the clock in steps until the run has closed."""

from __future__ import annotations

from datetime import timedelta
from typing import TypeVar

from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

T = TypeVar("T")


async def outcome(
    env: WorkflowEnvironment,
    workflow_id: str,
    result_type: type[T],
    step: timedelta = timedelta(minutes=10),
    limit: timedelta = timedelta(days=60),
) -> T:
    handle = env.client.get_workflow_handle(workflow_id, result_type=result_type)
    waited = timedelta(0)
    while (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
        assert waited < limit, f"{workflow_id} still running after {limit}"
        await env.sleep(step)
        waited += step
    result: T = await handle.result()
    return result
