"""An update whose call timed out is asked again under the same id; a cancelled one is not."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest
from temporalio.client import Client, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from ebok.models.registration import Cancel
from ebok.settings import Settings
from ebok.store.db import Store
from facade.base import FacadeBase


def timed_out() -> WorkflowUpdateRPCTimeoutOrCancelledError:
    err = WorkflowUpdateRPCTimeoutOrCancelledError()
    err.__cause__ = RPCError("deadline exceeded", RPCStatusCode.DEADLINE_EXCEEDED, b"")
    return err


def cancelled() -> WorkflowUpdateRPCTimeoutOrCancelledError:
    err = WorkflowUpdateRPCTimeoutOrCancelledError()
    err.__cause__ = asyncio.CancelledError()
    return err


class Handle:
    def __init__(self, failures: list[BaseException]) -> None:
        self.failures = failures
        self.ids: list[str] = []

    async def execute_update(self, update: str, arg: Any, *, id: str, result_type: Any) -> str:
        self.ids.append(id)
        if self.failures:
            raise self.failures.pop(0)
        return "done"


class Temporal:
    def __init__(self, handle: Handle) -> None:
        self.handle = handle

    def get_workflow_handle(self, workflow_id: str) -> Handle:
        return self.handle


def facade(handle: Handle) -> FacadeBase:
    return FacadeBase(cast(Client, Temporal(handle)), cast(Store, None), cast(Settings, None))


async def test_a_timed_out_update_is_asked_again_under_the_same_id() -> None:
    handle = Handle([timed_out(), timed_out()])
    answer = await facade(handle)._update("registration-x", "cancel", Cancel(), str)
    assert answer == "done"
    assert len(handle.ids) == 3 and len(set(handle.ids)) == 1


async def test_a_cancelled_update_call_is_not_retried() -> None:
    handle = Handle([cancelled()])
    with pytest.raises(WorkflowUpdateRPCTimeoutOrCancelledError):
        await facade(handle)._update("registration-x", "cancel", Cancel(), str)
    assert len(handle.ids) == 1


async def test_a_call_that_keeps_timing_out_gives_up() -> None:
    handle = Handle([timed_out() for _ in range(10)])
    with pytest.raises(WorkflowUpdateRPCTimeoutOrCancelledError):
        await facade(handle)._update("registration-x", "cancel", Cancel(), str)
    assert len(handle.ids) == 7  # the first call and one per backoff step
