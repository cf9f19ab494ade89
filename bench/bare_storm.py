"""The outage storm's shape on bare Temporal: a report workflow per report that joins one of the
incident workflows by signal-with-start from an activity, and incidents that notify their
reporters in pages, continue as new every ``reports_per_run`` reports and close the reports
at the end — as ``OutageReport``/``OutageIncident`` do, with no-op bodies.

The reporters of an incident live in the bare worker's memory (ours: the store), so the
incident's history holds counts only, as ours does. The sandbox imports this module, so it
does nothing at import time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import RetryPolicy, WorkflowIDConflictPolicy, WorkflowIDReusePolicy

__all__ = [
    "STORM_WORKFLOWS", "BareStormIncident", "BareStormReport", "StormActivities", "StormConfig",
    "StormReportInput",
]  # fmt: skip

TIMEOUT = timedelta(seconds=30)
NOTIFY_TIMEOUT = timedelta(minutes=30)  # as ours: a page of thousands of reporters takes a while
NOTIFY_HEARTBEAT = timedelta(minutes=2)
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))
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


@workflow.defn(name="BenchBareStormReport")
class BareStormReport:
    """``OutageReport`` for a PPE billing knows: one activity (attach), then it waits for the
    incident's ``closed`` signal (or its patience)."""

    def __init__(self) -> None:
        self._closed = False

    @workflow.run
    async def run(self, req: StormReportInput) -> str:
        await workflow.execute_activity(
            "bench.bare.storm_attach", req, start_to_close_timeout=TIMEOUT, retry_policy=RETRY
        )
        try:
            await workflow.wait_condition(
                lambda: self._closed, timeout=timedelta(seconds=req.config.patience_s)
            )
        except TimeoutError:
            pass
        return "closed"

    @workflow.signal
    def closed(self, sig: StormKey) -> None:
        self._closed = True


@workflow.defn(name=INCIDENT)
class BareStormIncident:
    """``OutageIncident`` for an unplanned outage the DSO does not know yet: the first report
    routes it (lookup, ticket, follow: three activities) and announces the ticket; new reports
    are confirmed in batches after ``confirm_delay``; the ``operator_status`` signal restores
    it (one notice, release); after the grace the reports are closed (finalize)."""

    @workflow.init
    def __init__(self, inp: StormIncidentInput) -> None:
        self._in, self._cfg = inp, inp.config
        self._s = inp.memo
        self._seen: set[str] = set()
        self._wake = 0
        self._handled = 0
        self._restored = False

    @workflow.run
    async def run(self, inp: StormIncidentInput) -> int:
        s = self._s
        if not s.routed:
            await workflow.wait_condition(lambda: s.reports > 0)
            key = StormKey(inp.incident_id)
            for name in ("storm_lookup", "storm_open_ticket", "storm_follow"):
                await self._call(name, key)
            s.routed = True
            await self._announce("ticket_opened")
        while not self._restored:
            if len(self._seen) >= self._cfg.reports_per_run:
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    StormIncidentInput(incident_id=inp.incident_id, config=self._cfg, memo=s)
                )
            await self._step()
        await self._announce("restored")
        await self._call("storm_release", StormKey(inp.incident_id))
        await workflow.sleep(timedelta(seconds=self._cfg.reopen_grace_s))
        await workflow.execute_activity(
            "bench.bare.storm_finalize",
            StormFinalize(incident_id=inp.incident_id, batch_size=self._cfg.batch_size),
            start_to_close_timeout=NOTIFY_TIMEOUT,
            heartbeat_timeout=NOTIFY_HEARTBEAT,
            retry_policy=RETRY,
        )
        await workflow.wait_condition(workflow.all_handlers_finished)
        return s.reports

    async def _step(self) -> None:
        # Like ours, always a deadline: the confirmation batch, else the next status poll.
        now = workflow.time()
        due = self._s.confirm_at if self._s.unconfirmed else None
        wait = (due - now) if due is not None else self._cfg.poll_interval_s
        try:
            await workflow.wait_condition(
                lambda: self._wake != self._handled, timeout=timedelta(seconds=max(wait, 1.0))
            )
        except TimeoutError:
            pass
        self._handled = self._wake
        if self._restored:
            return
        confirm_at = self._s.confirm_at
        if self._s.unconfirmed and confirm_at is not None and workflow.time() >= confirm_at:
            await self._notify(self._s.serial, self._s.kind)

    async def _announce(self, kind: str) -> None:
        self._s.serial += 1
        self._s.kind = kind
        await self._notify(self._s.serial, kind)

    async def _notify(self, serial: int, kind: str) -> None:
        self._s.unconfirmed, self._s.confirm_at = False, None
        await workflow.execute_activity(
            "bench.bare.storm_notify",
            StormNotify(self._in.incident_id, serial, kind, self._cfg.batch_size),
            start_to_close_timeout=NOTIFY_TIMEOUT,
            heartbeat_timeout=NOTIFY_HEARTBEAT,
            retry_policy=RETRY,
        )

    async def _call(self, name: str, req: StormKey) -> None:
        await workflow.execute_activity(
            f"bench.bare.{name}", req, start_to_close_timeout=TIMEOUT, retry_policy=RETRY
        )

    @workflow.signal
    def attach(self, sig: StormKey) -> None:
        if sig.key in self._seen:
            return
        self._seen.add(sig.key)
        self._s.reports += 1
        if not self._s.unconfirmed:
            self._s.unconfirmed = True
            self._s.confirm_at = workflow.time() + self._cfg.confirm_delay_s
            self._wake += 1
        if len(self._seen) >= self._cfg.reports_per_run:
            self._wake += 1

    @workflow.signal
    def operator_status(self, sig: StormKey) -> None:
        self._restored = True
        self._wake += 1

    @workflow.query
    def reports(self) -> int:
        return self._s.reports


STORM_WORKFLOWS: list[type] = [BareStormReport, BareStormIncident]
