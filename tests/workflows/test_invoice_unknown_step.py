"""A dunning step the workflow code does not know (a plan from a newer build, a bad merge)
must stop the invoice with an error staff see in the UI, and never be taken for a supply
suspension. Pure dispatch first, then the real workflow on the time-skipping server with a
plan that returns such a step, under the worker's production failure settings."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, cast

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from activities import Adapters, build_activities
from adapters.email.smtp import SmtpSender
from adapters.operator.sandbox import SandboxOperator
from adapters.payments.sandbox import SandboxPayments
from ebok.models import invoice as m
from ebok.settings import Settings
from ebok.store.db import Store
from entrypoints.devsmtp import DevSmtpServer
from facade.client import EbokClient
from tests.workflows.invoices import an_invoice
from workflows.catalogue import ALL_WORKFLOWS
from workflows.invoice_plan import Plan
from workflows.invoice_rules import Action, action_for

FAILED_TASK_WAIT = 30.0  # seconds for the first failed workflow task to reach the history


class Rogue(StrEnum):
    DISCONNECT = "disconnect"


def test_every_known_step_has_its_action_and_an_unknown_one_has_none() -> None:
    assert action_for(m.Step.SUSPEND) is Action.FILE_SUSPENSION
    assert action_for(m.Step.DEMAND) is Action.DEMAND
    assert {action_for(s) for s in m.Step} == set(Action)
    with pytest.raises(AssertionError, match="disconnect"):
        action_for(cast(m.Step, Rogue.DISCONNECT))


async def failed_task_message(client: Client, workflow_id: str) -> str | None:
    async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            return event.workflow_task_failed_event_attributes.failure.message
    return None


async def test_an_unknown_step_fails_the_task_and_files_nothing(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok: EbokClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    planned: Callable[..., tuple[Any, datetime | None]] = Plan.next

    def rogue_next(self: Plan, complaint_open: bool) -> tuple[Any, datetime | None]:
        step, at = planned(self, complaint_open)
        if step is m.Step.SUSPEND and at is not None:
            # Where the suspension request would come, and due at once: a failing workflow
            # task holds the test server's clock still.
            return Rogue.DISCONNECT, at - timedelta(days=30)
        return step, at

    # Unsandboxed, so the patched plan is the one the workflow runs.
    monkeypatch.setattr(Plan, "next", rogue_next)
    # Issued 60 days ago: the overdue reminder and the demand are due at once.
    billed = await an_invoice(store, issued=datetime.now(UTC).date() - timedelta(days=60))
    operator = SandboxOperator(billed.partner.registry)
    email = SmtpSender.from_settings(settings)
    adapters = Adapters(
        email=email, operator=operator, payments=SandboxPayments.from_settings(settings)
    )
    # As worker.py builds it: no workflow_failure_exception_types, so a bug in workflow code
    # fails the task (retried, shown in the UI) and leaves the invoice open. The test
    # environment's client would turn an AssertionError into a workflow failure instead: the
    # worker gets a client without that interceptor.
    config = skipping_env.client.config()
    config["interceptors"] = []
    plain = Client(**config)
    worker = Worker(
        plain,
        task_queue=settings.task_queue,
        workflows=ALL_WORKFLOWS,
        activities=build_activities(settings, store, adapters),
        workflow_runner=UnsandboxedWorkflowRunner(),
    )
    try:
        async with worker:
            await ebok.issue_invoice(billed.invoice, electronic_notices=True)
            await smtpd.wait_for(3)
            async with asyncio.timeout(FAILED_TASK_WAIT):
                while (
                    message := await failed_task_message(skipping_env.client, billed.workflow_id)
                ) is None:
                    await asyncio.sleep(0.2)  # polling the history, not waiting for time
            handle = skipping_env.client.get_workflow_handle(billed.workflow_id)
            described = await handle.describe()
            await handle.terminate("test over")
    finally:
        await email.aclose()
    assert "disconnect" in message
    assert described.status is WorkflowExecutionStatus.RUNNING  # nothing lost, nothing done
    assert operator.simulation.active_suspensions() == []
    history = await handle.fetch_history()
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    assert m.FILE_SUSPENSION not in scheduled and m.NOTIFY in scheduled
    subjects = [str(x["Subject"]) for x in smtpd.messages]
    assert len(subjects) == 3 and "Wezwanie" in subjects[2]  # the demand was served
