"""A customer's registration driven through the facade, and what the histories say about it."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import select
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus

from ebok.models import registration as m
from ebok.store.db import Store
from ebok.store.tables import registrations
from facade.client import EbokClient, registration_workflow_id
from tests.faults.mailbox import CountingSmtpServer, activation_id, welcome_id
from tests.mailbox import activation_token

T = TypeVar("T")

PASSWORD = "Zielona-Łąka-2026!"
TERMS = "2026-01"


def new_customer(prefix: str) -> tuple[str, str]:
    tag = uuid.uuid4().hex[:12]
    return f"{prefix}.{tag}@example.pl", f"{prefix}.{tag}"


async def step_one(ebok: EbokClient, prefix: str) -> str:
    email, login = new_customer(prefix)
    return (await ebok.register(email, login, "pl")).registration_id


async def step_two(ebok: EbokClient, registration_id: str) -> None:
    pending = await ebok.set_credentials(registration_id, PASSWORD, TERMS, True)
    assert pending.link_number == 1


async def activate_by_mail(
    ebok: EbokClient, relay: CountingSmtpServer, registration_id: str
) -> m.ActivationOutcome:
    """Follow the link in the newest copy of the activation mail, as the customer would."""
    mail = await relay.message(activation_id(registration_id))
    return await ebok.activate(activation_token(mail))


async def finished(
    client: Client, relay: CountingSmtpServer, registration_id: str
) -> m.RegistrationStatus:
    """The workflow's result, once the welcome mail (its last act) has been delivered."""
    handle = client.get_workflow_handle(
        registration_workflow_id(registration_id), result_type=m.RegistrationStatus
    )
    result: m.RegistrationStatus = await handle.result()
    await relay.message(welcome_id(registration_id))
    return result


@dataclass
class Interruptions:
    """Traces in the histories of work that was cut off and done again."""

    workflow_task_timeouts: int = 0
    workflow_task_failures: int = 0
    retried: Counter[str] | None = None  # activity type → activities that needed attempt > 1
    not_completed: int = 0

    @property
    def total(self) -> int:
        retried = sum(self.retried.values()) if self.retried else 0
        return self.workflow_task_timeouts + self.workflow_task_failures + retried


async def interruptions(client: Client, workflow_ids: list[str]) -> Interruptions:
    found = Interruptions(retried=Counter())
    assert found.retried is not None
    for wid in workflow_ids:
        handle = client.get_workflow_handle(wid)
        if (await handle.describe()).status != WorkflowExecutionStatus.COMPLETED:
            found.not_completed += 1
        scheduled: dict[int, str] = {}
        async for event in handle.fetch_history_events():
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
                found.workflow_task_timeouts += 1
            elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                found.workflow_task_failures += 1
            elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                attrs = event.activity_task_scheduled_event_attributes
                scheduled[event.event_id] = attrs.activity_type.name
            elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                attrs_started = event.activity_task_started_event_attributes
                if attrs_started.attempt > 1:
                    found.retried[scheduled[attrs_started.scheduled_event_id]] += 1
    return found


async def registration_states(store: Store, registration_ids: list[str]) -> dict[str, str]:
    """The store's own view: registration id → status column."""
    async with store.begin() as uow:
        found = await uow.conn.execute(
            select(registrations.c.id, registrations.c.status).where(
                registrations.c.id.in_(registration_ids)
            )
        )
        return {rid: status for rid, status in found}


async def all_of(*aws: Awaitable[T]) -> list[T]:
    """Like ``asyncio.gather``, but the first failure cancels the rest (none left running)."""
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
