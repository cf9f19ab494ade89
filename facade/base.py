"""What every part of the facade shares: the connections, validation, updates and queries."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from ebok.errors import InvalidInput, LimitReached, NotFound, RateLimited, WrongState
from ebok.models.search import EBOK_PROCESS, EBOK_STATUS
from ebok.settings import Settings
from ebok.store.db import Store

M = TypeVar("M", bound=BaseModel)
_BUSY = (RPCStatusCode.RESOURCE_EXHAUSTED, RPCStatusCode.UNAVAILABLE)
_BUSY_BACKOFF = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6)  # seconds, jittered
R = TypeVar("R")


def validate(model: type[M], **fields: Any) -> M:
    """Build a model from keyword input; a failure names the fields and echoes no value."""
    try:
        return model.model_validate(fields)
    except ValidationError as e:
        raise InvalidInput.from_validation(e) from None


def checked(adapter: TypeAdapter[str], field: str, value: str) -> str:
    try:
        return adapter.validate_python(value)
    except ValidationError:
        raise InvalidInput.one(field, f"is not a valid {field.replace('_', ' ')}") from None


def translate(cause: BaseException | None) -> Exception:
    """An update's ApplicationError → the facade's exception of the same meaning."""
    if not isinstance(cause, ApplicationError):
        return WrongState(str(cause))
    if cause.type == "RateLimited":
        return RateLimited(cause.message, datetime.fromisoformat(str(cause.details[0])))
    if cause.type == "ResendLimit":
        return LimitReached(cause.message)
    return WrongState(cause.message)


def _kind(workflow_id: str) -> str:
    """``registration-…`` → "registration": what the caller asked about, for messages."""
    kind = workflow_id.split("-", 1)[0]
    names = {
        "linking": "partner linking process",
        "einvoice": "e-invoice process",
        "email": "e-mail change",
        "invoice": "invoice",
        "outage": "outage report",
        "password": "password reset",
        "deletion": "account deletion",
    }
    return names.get(kind, kind)


class FacadeBase:
    def __init__(self, client: Client, store: Store, settings: Settings) -> None:
        self.temporal, self.store, self.settings = client, store, settings

    async def _start(
        self,
        workflow: str,
        arg: BaseModel,
        workflow_id: str,
        process: str,
        status: str,
        *,
        reuse: WorkflowIDReusePolicy = WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        conflict: WorkflowIDConflictPolicy = WorkflowIDConflictPolicy.FAIL,
        also: Sequence[SearchAttributePair[Any]] = (),
    ) -> None:
        """Start a process with its search attributes set, so operators see it at once.

        ``also``: more that the process would set in its first workflow task; given here,
        that costs no upsert event and no extra visibility write (the process sets only what
        changed)."""
        await self.temporal.start_workflow(
            workflow,
            arg,
            id=workflow_id,
            **self._start_options(process, status, reuse, conflict, also),
        )

    async def _update_with_start(
        self,
        workflow: str,
        arg: BaseModel,
        workflow_id: str,
        process: str,
        status: str,
        update: str,
        update_arg: BaseModel,
        result: type[R],
        also: Sequence[SearchAttributePair[Any]] = (),
    ) -> R:
        """Send an update to the running process, or start it (as :meth:`_start`) and deliver
        the update in its first workflow task: one round trip, and one workflow task fewer
        than an update answered "not found", a start and the update again. Two first calls at
        once land on one process (USE_EXISTING)."""
        start: WithStartWorkflowOperation[Any, None] = WithStartWorkflowOperation(
            workflow,
            arg,
            id=workflow_id,
            result_type=type(None),
            **self._start_options(
                process,
                status,
                WorkflowIDReusePolicy.ALLOW_DUPLICATE,
                WorkflowIDConflictPolicy.USE_EXISTING,
                also,
            ),
        )
        try:
            answer: R = await self.temporal.execute_update_with_start_workflow(
                update, update_arg, start_workflow_operation=start, result_type=result
            )
            return answer
        except WorkflowUpdateFailedError as e:
            raise translate(e.cause) from None

    def _start_options(
        self,
        process: str,
        status: str,
        reuse: WorkflowIDReusePolicy,
        conflict: WorkflowIDConflictPolicy,
        also: Sequence[SearchAttributePair[Any]],
    ) -> dict[str, Any]:
        return {
            "task_queue": self.settings.task_queue,
            "id_reuse_policy": reuse,
            "id_conflict_policy": conflict,
            "execution_timeout": self.settings.execution_timeout,
            "search_attributes": TypedSearchAttributes(
                [
                    SearchAttributePair(EBOK_PROCESS, process),
                    SearchAttributePair(EBOK_STATUS, status),
                    *also,
                ]
            ),
        }

    async def _update(self, workflow_id: str, update: str, arg: BaseModel, result: type[R]) -> R:
        handle = self.temporal.get_workflow_handle(workflow_id)
        update_id = str(uuid.uuid4())  # the same on a retry: admitted at most once
        for delay in (*_BUSY_BACKOFF, None):
            try:
                answer: R = await handle.execute_update(
                    update, arg, id=update_id, result_type=result
                )
                return answer
            except WorkflowUpdateFailedError as e:
                raise translate(e.cause) from None
            except WorkflowUpdateRPCTimeoutOrCancelledError as e:
                # The call's deadline passed before a worker took the update (workers
                # restarting). Asked again under the same id it is the same update, not a
                # second one. Our own cancellation is not retried.
                if not isinstance(e.__cause__, RPCError) or delay is None:
                    raise
            except RPCError as e:
                if e.status == RPCStatusCode.NOT_FOUND:
                    raise NotFound(f"no such {_kind(workflow_id)}, or it has finished") from None
                if e.status not in _BUSY or delay is None:
                    raise
            # The server admits a few updates per workflow at a time (ten by default) and
            # refuses more; one admitted but not yet delivered when the run closes is aborted
            # (UNAVAILABLE). Either way it was not applied: a burst (many clicks on one link)
            # tries again, and a retry after the close is answered "not found".
            await asyncio.sleep(delay * (0.5 + random.random()))
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _query(self, workflow_id: str, query: str, result: type[R]) -> R:
        handle = self.temporal.get_workflow_handle(workflow_id)
        try:
            answer: R = await handle.query(query, result_type=result)
            return answer
        except RPCError as e:
            if e.status == RPCStatusCode.NOT_FOUND:
                raise NotFound(f"no such {_kind(workflow_id)}") from None
            raise
