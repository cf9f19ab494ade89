"""The sandbox DSO's world: its incidents, the requests it was sent, and how well it feels.

One :class:`DsoSimulation` is the DSO's side of the sandbox adapter. Several
:class:`~adapters.operator.sandbox.SandboxOperator` instances built over the same simulation
(the worker's, a test's, a local HTTP server's) see one DSO: a ticket opened through one is
visible through the others, and a fault switched on here hits them all.

Tests and the dev CLI drive it with the ``start_storm`` … ``restore`` commands; each change of
an incident is pushed to ``on_status`` (an async callable) when one is set. With a ``path`` the
state lives in that JSON file (locked while read and written), so another process on the
machine can drive the DSO the worker talks to; pushes then reach only the driving process's
hook, and the worker sees the changes when it asks.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from adapters.operator.base import (
    MAX_KEY,
    IncidentState,
    IncidentStatus,
    KnownOutage,
    OperatorRejected,
    OutageKind,
    OutageTicket,
    SuspensionAnswer,
    SuspensionRequest,
    TicketRequest,
)
from adapters.operator.incidents import Incident, SimulationError, unknown_incident
from adapters.operator.suspensions import (
    FiledSuspension,
    suspension_from_json,
    suspension_reference,
    suspension_to_json,
)

__all__ = ["DsoSimulation", "Faults", "FiledSuspension", "StatusHook"]

StatusHook = Callable[[IncidentStatus], Awaitable[None]]
log = logging.getLogger(__name__)


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Faults:
    """How the simulated DSO misbehaves; every port call of every operator over it obeys."""

    latency: timedelta = timedelta(0)  # before every answer
    failure_rate: float = 0.0  # 0..1: share of calls failing with OperatorUnavailable
    down: bool = False  # every call fails with OperatorUnavailable

    def __post_init__(self) -> None:
        if not 0.0 <= self.failure_rate <= 1.0:
            raise ValueError("failure_rate must be between 0 and 1")
        if self.latency < timedelta(0):
            raise ValueError("latency must not be negative")


@dataclass
class DsoSimulation:
    """The simulated DSO's state, changed only through its methods and the operators over it."""

    faults: Faults = field(default_factory=Faults)
    clock: Callable[[], datetime] = _utc_now
    on_status: StatusHook | None = None
    path: Path | None = None  # the state file, when other processes share this DSO
    suspensions: dict[str, FiledSuspension] = field(default_factory=dict)  # by our key
    incidents: dict[str, Incident] = field(default_factory=dict)  # by reference
    tickets: dict[str, str] = field(default_factory=dict)  # our key → incident reference
    next_number: int = 1

    def __post_init__(self) -> None:
        if self.path is not None:
            self.path = Path(self.path)
            if self.path.exists():
                self.refresh()
            else:
                self._save()

    # --- supply suspensions ---------------------------------------------------------------

    def file_suspension(self, request: SuspensionRequest, *, accepted: bool) -> SuspensionAnswer:
        """The request filed under its key, or the one filed before under that key."""
        if not request.key or len(request.key) > MAX_KEY:
            raise OperatorRejected(f"sandbox: key must be 1-{MAX_KEY} characters", 422)
        with self._transaction():
            filed = self.suspensions.get(request.key)
            if filed is None:
                reference = suspension_reference(request.key)
                filed = FiledSuspension(reference, request, accepted, self.clock())
                self.suspensions[request.key] = filed
            elif filed.request != request:
                # One key, two different requests: a bug on the caller's side, never a retry.
                raise OperatorRejected(
                    "sandbox: idempotency key already used for a different suspension request",
                    422,
                )
            return filed.answer

    def withdraw_suspension(self, reference: str) -> FiledSuspension:
        with self._transaction():
            for filed in self.suspensions.values():
                if filed.reference == reference:
                    filed.withdrawn_at = filed.withdrawn_at or self.clock()
                    return filed
        raise OperatorRejected(f"sandbox: no suspension request {reference!r}", 404)

    def active_suspensions(self) -> list[FiledSuspension]:
        """Filed and not withdrawn, in filing order."""
        self.refresh()
        return [s for s in self.suspensions.values() if s.withdrawn_at is None]

    # --- outages: what the port asks -----------------------------------------------------

    async def known_outage(self, area: str) -> KnownOutage | None:
        """The outage cutting ``area`` off now: an unplanned one first, then planned work."""
        await self._settle(quiet=True)
        now = self.clock()
        covering = [i for i in self.incidents.values() if i.area == area and i.covers(now)]
        covering.sort(key=lambda i: (i.kind is OutageKind.PLANNED, i.started_at))
        return covering[0].known() if covering else None

    async def open_ticket(self, request: TicketRequest, area: str) -> OutageTicket:
        """The ticket for ``request.key``: onto the outage covering ``area``, or a new one."""
        if not request.key or len(request.key) > MAX_KEY:
            raise OperatorRejected(f"sandbox: key must be 1-{MAX_KEY} characters", 422)
        await self._settle(quiet=True)
        created: Incident | None = None
        with self._transaction():
            reference = self.tickets.get(request.key)
            if reference is None:
                now = self.clock()
                covering = [i for i in self.incidents.values() if i.area == area and i.covers(now)]
                covering.sort(key=lambda i: (i.kind is OutageKind.PLANNED, i.started_at))
                if covering:
                    incident = covering[0]
                else:
                    created = incident = self._new(OutageKind.UNPLANNED, area, now, note="")
                incident.ticket_keys.append(request.key)
                self.tickets[request.key] = reference = incident.reference
            incident = self.incidents[reference]
            ticket = OutageTicket(incident.reference, request.key, incident.state)
        if created is not None:
            await self._notify([created.status()], quiet=True)
        return ticket

    async def incident_status(self, reference: str) -> IncidentStatus:
        await self._settle(quiet=True)
        incident = self.incidents.get(reference)
        if incident is None:
            raise unknown_incident(reference)
        return incident.status()

    # --- outages: the simulation's commands ----------------------------------------------

    async def start_storm(
        self,
        area: str,
        *,
        expected_restoration: datetime | None = None,
        note: str = "",
    ) -> str:
        """An unplanned outage over ``area`` from now (the one already open there, if any)."""
        with self._transaction():
            now = self.clock()
            for incident in self.incidents.values():
                if incident.area == area and incident.kind is OutageKind.UNPLANNED:
                    if incident.covers(now):
                        return incident.reference
            incident = self._new(OutageKind.UNPLANNED, area, now, note=note)
            incident.expected_restoration = expected_restoration
        await self._notify([incident.status()])
        return incident.reference

    async def plan_work(self, area: str, start: datetime, end: datetime, note: str = "") -> str:
        """Announced work over ``area`` from ``start`` to ``end``; it ends itself at ``end``."""
        if end <= start:
            raise SimulationError("planned work must end after it starts")
        with self._transaction():
            incident = self._new(OutageKind.PLANNED, area, start, note=note)
            incident.state = IncidentState.ACKNOWLEDGED
            incident.acknowledged_at = incident.changed_at = self.clock()
            incident.window_end = end
        await self._notify([incident.status()])
        return incident.reference

    async def acknowledge(self, reference: str) -> IncidentStatus:
        return await self._move(reference, IncidentState.ACKNOWLEDGED)

    async def dispatch_crew(self, reference: str) -> IncidentStatus:
        return await self._move(reference, IncidentState.CREW_DISPATCHED)

    async def restore(self, reference: str) -> IncidentStatus:
        return await self._move(reference, IncidentState.RESTORED)

    async def cancel(self, reference: str, note: str = "") -> IncidentStatus:
        """Not an outage at the DSO's side (e.g. the customer's own fuse)."""
        return await self._move(reference, IncidentState.CANCELLED, note)

    async def set_expected_restoration(
        self, reference: str, when: datetime | None
    ) -> IncidentStatus:
        with self._transaction():
            incident = self._incident(reference)
            changed = incident.expect(when, self.clock())
        if changed:
            await self._notify([incident.status()])
        return incident.status()

    async def settle(self) -> None:
        """End planned work whose window has passed (every port call does this first)."""
        await self._settle(quiet=False)

    # --- internals -------------------------------------------------------------------------

    def _new(self, kind: OutageKind, area: str, start: datetime, note: str) -> Incident:
        if not area.strip():
            raise SimulationError("area must not be empty")
        reference = f"SBX-I-{self.next_number:06d}"
        self.next_number += 1
        incident = Incident(
            reference, kind, area, IncidentState.OPEN, start, self.clock(), note=note
        )
        self.incidents[reference] = incident
        return incident

    def _incident(self, reference: str) -> Incident:
        incident = self.incidents.get(reference)
        if incident is None:
            raise SimulationError(f"no incident {reference!r}")
        return incident

    async def _move(
        self, reference: str, state: IncidentState, note: str | None = None
    ) -> IncidentStatus:
        with self._transaction():
            incident = self._incident(reference)
            changed = incident.move(state, self.clock(), note)
        if changed:
            await self._notify([incident.status()])
        return incident.status()

    async def _settle(self, *, quiet: bool) -> None:
        ended: list[IncidentStatus] = []
        with self._transaction():
            now = self.clock()
            for incident in self.incidents.values():
                end = incident.window_end
                if incident.kind is OutageKind.PLANNED and end is not None and end <= now:
                    if incident.move(IncidentState.RESTORED, end):
                        ended.append(incident.status())
        await self._notify(ended, quiet=quiet)

    async def _notify(self, statuses: list[IncidentStatus], *, quiet: bool = False) -> None:
        """Push each change to the hook. From a port call (``quiet``) a failing hook is logged
        and ignored, as a DSO's failed webhook never fails the API call that caused it; from a
        simulation command it propagates, so the test driving it sees it."""
        hook = self.on_status
        if hook is None:
            return
        for status in statuses:
            try:
                await hook(status)
            except Exception:
                if not quiet:
                    raise
                log.exception("sandbox DSO: status hook failed for %s", status.reference)

    # --- the state file ------------------------------------------------------------------

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """Read the file, change, write it back, under an exclusive lock; in memory, nothing."""
        if self.path is None:
            yield
            return
        with self._lock():
            self._load()
            yield
            self._save()

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        assert self.path is not None
        with open(self.path.with_name(self.path.name + ".lock"), "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def refresh(self) -> None:
        """Pick up what another process wrote since this one last read the file."""
        if self.path is not None:
            with self._lock():
                self._load()

    def _load(self) -> None:
        # Read every time: the file is small, and a timestamp may not tell two quick writes apart.
        assert self.path is not None
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        faults = data["faults"]
        self.faults = Faults(
            timedelta(seconds=faults["latency"]), faults["failure_rate"], faults["down"]
        )
        self.suspensions = {}
        for item in data["suspensions"]:
            filed = suspension_from_json(item)
            self.suspensions[filed.request.key] = filed
        self.incidents = {i["reference"]: Incident.from_json(i) for i in data["incidents"]}
        self.tickets = dict(data["tickets"])
        self.next_number = data["next_number"]

    def _save(self) -> None:
        assert self.path is not None
        data: dict[str, Any] = {
            "faults": {
                "latency": self.faults.latency.total_seconds(),
                "failure_rate": self.faults.failure_rate,
                "down": self.faults.down,
            },
            "suspensions": [suspension_to_json(s) for s in self.suspensions.values()],
            "incidents": [i.to_json() for i in self.incidents.values()],
            "tickets": self.tickets,
            "next_number": self.next_number,
        }
        temporary = self.path.with_name(self.path.name + ".tmp")
        temporary.write_text(json.dumps(data, indent=1), encoding="utf-8")
        os.replace(temporary, self.path)  # readers see the old file or the new, never half

    def save_faults(self, faults: Faults) -> None:
        """Replace the faults (in the file too, so every process over it obeys)."""
        with self._transaction():
            self.faults = faults
