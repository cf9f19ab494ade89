"""What every part of the facade shares: the connections, validation, updates and queries."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError
from temporalio.client import Client, WorkflowUpdateFailedError
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
    return {"linking": "partner linking process", "outage": "outage report"}.get(kind, kind)


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
    ) -> None:
        """Start a process with its search attributes set, so operators see it at once."""
        await self.temporal.start_workflow(
            workflow,
            arg,
            id=workflow_id,
            task_queue=self.settings.task_queue,
            id_reuse_policy=reuse,
            id_conflict_policy=conflict,
            execution_timeout=self.settings.execution_timeout,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(EBOK_PROCESS, process),
                    SearchAttributePair(EBOK_STATUS, status),
                ]
            ),
        )

    async def _update(self, workflow_id: str, update: str, arg: BaseModel, result: type[R]) -> R:
        handle = self.temporal.get_workflow_handle(workflow_id)
        try:
            answer: R = await handle.execute_update(update, arg, result_type=result)
            return answer
        except WorkflowUpdateFailedError as e:
            raise translate(e.cause) from None
        except RPCError as e:
            if e.status == RPCStatusCode.NOT_FOUND:
                raise NotFound(f"no such {_kind(workflow_id)}, or it has finished") from None
            raise

    async def _query(self, workflow_id: str, query: str, result: type[R]) -> R:
        handle = self.temporal.get_workflow_handle(workflow_id)
        try:
            answer: R = await handle.query(query, result_type=result)
            return answer
        except RPCError as e:
            if e.status == RPCStatusCode.NOT_FOUND:
                raise NotFound(f"no such {_kind(workflow_id)}") from None
            raise
