"""The outage storm's shape on bare Temporal: a report workflow per report that joins one of the
incident workflows by signal-with-start from an activity, and incidents that notify their
reporters in pages, continue as new every ``reports_per_run`` reports and close the reports
at the end — as ``OutageReport``/``OutageIncident`` do, with no-op bodies.

The reporters of an incident live in the bare worker's memory (ours: the store), so the
incident's history holds counts only, as ours does. This module holds the activities and what
both workflows share (passed through the sandbox); each workflow is in a module of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

__all__ = [
    "INCIDENT", "NOTIFY_HEARTBEAT", "NOTIFY_TIMEOUT", "StormActivities",
    "StormConfig", "StormFinalize", "StormIncidentInput", "StormKey", "StormMemo", "StormNotify",
    "StormReportInput",
]  # fmt: skip

NOTIFY_TIMEOUT = timedelta(minutes=30)  # as ours: a page of thousands of reporters takes a while
NOTIFY_HEARTBEAT = timedelta(minutes=2)
INCIDENT = "BenchBareStormIncident"


@dataclass(frozen=True)
class StormConfig:
    """Ours reads these from ``EBOK_OUTAGE_*``; the bench gives both sides the same values."""

    batch_size: int
    reports_per_run: int
    confirm_delay_s: float
    reopen_grace_s: float
    poll_interval_s: float
    patience_s: float


@dataclass(frozen=True)
class StormReportInput:
    key: str  # the report's workflow id
    incident_id: str
    config: StormConfig


@dataclass(frozen=True)
class StormKey:
    key: str


@dataclass
class StormMemo:
    """What an incident run hands the next one (ours: ``IncidentMemo``)."""

    reports: int = 0
    routed: bool = False
    serial: int = 0  # the last notice
    kind: str = ""
    unconfirmed: bool = False
    confirm_at: float | None = None  # workflow.time() of the next confirmation batch


@dataclass(frozen=True)
class StormIncidentInput:
    incident_id: str
    config: StormConfig
    memo: StormMemo = field(default_factory=StormMemo)


@dataclass(frozen=True)
class StormNotify:
    incident_id: str
    serial: int
    kind: str
    batch_size: int


@dataclass(frozen=True)
class StormFinalize:
    incident_id: str
    batch_size: int


class StormActivities:
    """``attach`` signal-with-starts the incident; ``notify`` tells the driver for every
    reporter not told the notice yet, page by page (``tell`` is the bare worker's kept
    connection to the driver, as ours has SMTP); ``finalize`` signals every report closed.
    The rest are no-ops where ours asks the DSO or writes the store."""

    def __init__(self, tell: Callable[[str], Awaitable[None]]) -> None:
        self._tell = tell
        self._reporters: dict[str, dict[str, int]] = {}  # incident → report key → told serial

    @activity.defn(name="bench.bare.storm_attach")
    async def attach(self, req: StormReportInput) -> str:
        self._reporters.setdefault(req.incident_id, {}).setdefault(req.key, 0)
        await activity.client().start_workflow(
            INCIDENT,
            StormIncidentInput(incident_id=req.incident_id, config=req.config),
            id=req.incident_id,
            task_queue=activity.info().task_queue,
            start_signal="attach",
            start_signal_args=[StormKey(req.key)],
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        return req.incident_id

    @activity.defn(name="bench.bare.storm_lookup")
    async def lookup(self, req: StormKey) -> None:
        pass

    @activity.defn(name="bench.bare.storm_open_ticket")
    async def open_ticket(self, req: StormKey) -> None:
        pass

    @activity.defn(name="bench.bare.storm_follow")
    async def follow(self, req: StormKey) -> None:
        pass

    @activity.defn(name="bench.bare.storm_release")
    async def release(self, req: StormKey) -> None:
        pass

    @activity.defn(name="bench.bare.storm_notify")
    async def notify(self, req: StormNotify) -> int:
        reporters = self._reporters.get(req.incident_id, {})
        sent = 0
        after = ""
        while True:
            page = sorted(k for k, told in reporters.items() if told < req.serial and k > after)
            page = page[: req.batch_size]
            if not page:
                return sent
            for key in page:  # ours: a mail per reporter, "received" for one never told
                kind = "received" if reporters[key] == 0 else req.kind
                await self._tell(f"{key}:{kind}")
                reporters[key] = req.serial
            sent += len(page)
            after = page[-1]
            activity.heartbeat(after, sent)

    @activity.defn(name="bench.bare.storm_finalize")
    async def finalize(self, req: StormFinalize) -> int:
        client = activity.client()
        keys = sorted(self._reporters.pop(req.incident_id, {}))
        for start in range(0, len(keys), req.batch_size):
            page = keys[start : start + req.batch_size]
            await asyncio.gather(
                *(client.get_workflow_handle(k).signal("closed", StormKey(k)) for k in page)
            )
            activity.heartbeat(start)
        return len(keys)

    def all(self) -> list[Callable[..., Any]]:
        return [
            self.attach, self.lookup, self.open_ticket, self.follow, self.release, self.notify,
            self.finalize,
        ]  # fmt: skip
