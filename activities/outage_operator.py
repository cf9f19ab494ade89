"""Outage activities that talk to the grid operator: what it knows of a PPE, the one ticket
of an incident, and the incident's status (once, or watched until it changes). The DSO's
answers become workflow models here."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from adapters.operator.base import (
    IncidentStatus,
    KnownOutage,
    OperatorRejected,
    OperatorUnavailable,
    OutageReports,
    TicketRequest,
)
from ebok.models import outage as m
from ebok.store.db import Store

__all__ = ["OperatorCalls", "operator_status", "outage_of"]

OPERATOR_REJECTED = "OperatorRejected"


def outage_of(known: KnownOutage) -> m.Outage:
    return m.Outage(
        reference=known.reference,
        kind=m.Kind(known.kind.value),
        area=known.area,
        state=m.OperatorState(known.state.value),
        started_at=known.started_at,
        expected_restoration=known.expected_restoration,
        window_end=known.window_end,
    )


def operator_status(status: IncidentStatus) -> m.OperatorStatus:
    return m.OperatorStatus(
        reference=status.reference,
        state=m.OperatorState(status.state.value),
        changed_at=status.changed_at,
        acknowledged_at=status.acknowledged_at,
        expected_restoration=status.expected_restoration,
        restored_at=status.restored_at,
    )


def _unavailable(e: OperatorUnavailable) -> ApplicationError:
    # Retryable; the workflow's retry policy backs off (the DSO's hint is kept in the message).
    hint = f", retry after {e.retry_after:.0f} s" if e.retry_after else ""
    return ApplicationError(
        f"operator unavailable ({type(e).__name__}{hint})", type="OperatorUnavailable"
    )


def _rejected(e: OperatorRejected) -> ApplicationError:
    return ApplicationError(
        f"operator refused the request ({e.status_code or 'no status'})",
        type=OPERATOR_REJECTED,
        non_retryable=True,
    )


class OperatorCalls:
    def __init__(self, store: Store, operator: OutageReports) -> None:
        self._store, self._operator = store, operator

    @activity.defn(name=m.LOCATE)
    async def locate(self, req: m.Lookup) -> m.Located:
        """The PPE's area (and outage) from the DSO, for a PPE billing does not know."""
        return await self._lookup(req)

    @activity.defn(name=m.LOOKUP)
    async def lookup(self, req: m.Lookup) -> m.Located:
        """What the DSO knows for the incident's first PPE: asked once per incident."""
        return await self._lookup(req)

    async def _lookup(self, req: m.Lookup) -> m.Located:
        # A refused PPE is an answer (``area`` None), not a failure: the reporter is told.
        try:
            found = await self._operator.lookup_outage(req.ppe)
        except OperatorRejected:
            return m.Located()
        except OperatorUnavailable as e:
            raise _unavailable(e) from None
        return m.Located(area=found.area, outage=outage_of(found.outage) if found.outage else None)

    @activity.defn(name=m.FOLLOW)
    async def follow(self, req: m.Follow) -> m.Followed:
        async with self._store.begin() as uow:
            return m.Followed(owner=await uow.outages.follow(req.incident_id, req.reference))

    @activity.defn(name=m.OPEN_TICKET)
    async def open_ticket(self, req: m.OpenTicket) -> m.Ticket:
        """One ticket per incident: keyed by the incident id, so a retry finds it. The first
        report's description goes from the store to the DSO and nowhere else."""
        async with self._store.begin() as uow:
            report = await uow.outages.report(req.report_id)
        if report is None:
            raise ApplicationError("no such report", type=OPERATOR_REJECTED, non_retryable=True)
        request = TicketRequest(
            key=req.incident_id,
            ppe=report.ppe,
            area=req.area,
            reported_at=req.reported_at,
            description=report.description,
        )
        try:
            ticket = await self._operator.open_ticket(request)
        except OperatorRejected as e:
            raise _rejected(e) from None
        except OperatorUnavailable as e:
            raise _unavailable(e) from None
        return m.Ticket(reference=ticket.reference, state=m.OperatorState(ticket.state.value))

    @activity.defn(name=m.TICKET_STATUS)
    async def ticket_status(self, req: m.StatusRequest) -> m.OperatorStatus:
        return await self._status(req.reference)

    @activity.defn(name=m.WATCH_TICKET)
    async def watch_ticket(self, req: m.WatchRequest) -> m.OperatorStatus:
        """The ticket's status once the DSO has news for the incident. Until then each attempt
        fails as ``Unchanged`` and the server tries again after the retry interval: waiting
        that way writes nothing to the workflow's history, where a timer and an activity per
        look at the ticket would. A read only, so any attempt may run again."""
        status = await self._status(req.reference)
        if not req.is_news(status):
            raise ApplicationError(
                f"no news of {req.reference} since {status.changed_at.isoformat()}",
                type=m.UNCHANGED,
                # Expected, not a fault: the SDK logs it quietly and counts no failure.
                category=ApplicationErrorCategory.BENIGN,
            )
        return status

    async def _status(self, reference: str) -> m.OperatorStatus:
        try:
            return operator_status(await self._operator.ticket_status(reference))
        except OperatorRejected as e:
            raise _rejected(e) from None
        except OperatorUnavailable as e:
            raise _unavailable(e) from None
