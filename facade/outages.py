"""Outage reporting through the facade: reports (linked or anonymous), the customer's
additions, status, the operator's status notifications, and staff actions on incidents."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import TypeAdapter
from temporalio.common import SearchAttributePair, WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from ebok.errors import InvalidInput, NotFound, WrongState
from ebok.ids import opaque_id
from ebok.models import outage as m
from ebok.models.search import EBOK_AREA
from ebok.store.db import UnitOfWork
from ebok.store.outages import NewReport
from facade.base import FacadeBase, checked, validate

__all__ = ["OutageFacade"]

_REPORT_ID: TypeAdapter[str] = TypeAdapter(m.ReportId)
_INCIDENT_ID: TypeAdapter[str] = TypeAdapter(m.IncidentId)


class OutageFacade(FacadeBase):
    async def report_outage(
        self,
        ppe: str,
        description: str,
        *,
        account_id: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        language: str = "pl",
    ) -> m.ReportAccepted:
        """Report no power at ``ppe``. A linked account reports for its own PPEs only; anyone
        else gives an e-mail address or phone. The same customer reporting the same PPE again
        while the report is open gets the same report back (``duplicate``), with the new
        description added to it as a note (``info_added``). Once the report's incident has
        ended (restored, cancelled, closed) a report is a new one: a new failure."""
        req = validate(
            m.ReportRequest,
            ppe=ppe,
            description=description,
            account_id=account_id,
            email=email,
            phone=phone,
            language=language,
        )
        # One transaction: the portal's back end is a busy writer beside the worker, and on
        # SQLite a transaction (a connection taken, a commit) is what a storm of reports waits on.
        async with self.store.begin() as uow:
            new = await self._new_report(uow, req)
            report_id, created = await uow.outages.create_report(new)
        try:
            await self._start(
                m.REPORT_WORKFLOW,
                m.ReportInput(
                    report_id=report_id,
                    ppe=new.ppe,
                    reported_at=new.reported_at,
                    area=new.area,
                    household=new.household,
                    patience=self.settings.outage_report_patience,
                ),
                report_id,
                "outage",
                m.ReportState.LOCATING.value,
                conflict=WorkflowIDConflictPolicy.USE_EXISTING,
                also=[SearchAttributePair(EBOK_AREA, new.area[:64])] if new.area else (),
            )
        except BaseException:
            if created:  # nothing half-written: the customer may simply try again
                async with self.store.begin() as uow:
                    await uow.outages.delete_report(report_id)
            raise
        if created:
            return m.ReportAccepted(report_id=report_id, duplicate=False)
        await self._add_note(report_id, new.description, new.reported_at)
        return m.ReportAccepted(report_id=report_id, duplicate=True, info_added=True)

    async def _add_note(self, report_id: str, text: str, at: datetime) -> m.ReportStatus | None:
        """The customer's words kept with the report, and the report told (for its count).
        A report that has just ended keeps the note in the store all the same."""
        async with self.store.begin() as uow:
            serial = await uow.outages.add_note(report_id, text, at)
        try:
            return await self._update(
                report_id, "add_info", m.InfoAdded(serial=serial), m.ReportStatus
            )
        except (WrongState, NotFound):
            return None

    async def _new_report(self, uow: UnitOfWork, req: m.ReportRequest) -> NewReport:
        """Who reports and where the PPE is: from the account and billing, PII to the store."""
        owner = await uow.billing.owner_of_ppe(req.ppe)
        partner_number = owner.partner_number if owner is not None else None
        email, language = req.email, str(req.language)
        if req.account_id is not None:
            account = await uow.accounts.get(req.account_id)
            if account is None:
                raise NotFound("no such account")
            partners = await uow.billing.partners_of_account(req.account_id)
            if partner_number is None or partner_number not in partners:
                raise InvalidInput.one("ppe", "is not a point of delivery of this account")
            email, language = account.email, account.language
            reporter = f"account:{req.account_id}"
        else:
            reporter = f"contact:{(req.email or req.phone or '').strip().lower()}"
        return NewReport(
            id=opaque_id(m.REPORT_PREFIX),
            reporter_key=reporter,
            account_id=req.account_id,
            partner_number=partner_number,
            household=owner.household if owner is not None else True,
            email=email,
            phone=req.phone,
            language=language if language in ("pl", "en") else "pl",
            ppe=req.ppe,
            area=owner.area if owner is not None else None,
            description=req.description,
            reported_at=datetime.now(UTC),
        )

    async def outage_status(self, report_id: str) -> m.OutageView:
        report = await self._query(_report(report_id), "status", m.ReportStatus)
        incident = None
        if report.incident_id is not None:
            try:
                incident = await self.incident_status(report.incident_id)
            except NotFound:  # ended and gone from the server's retention
                incident = None
        return m.OutageView(report=report, incident=incident)

    async def add_outage_info(self, report_id: str, text: str) -> m.ReportStatus:
        """More from the customer ("the whole street is dark"): kept in the store."""
        note = validate(m.Note, text=text)
        report_id = _report(report_id)
        async with self.store.begin() as uow:
            found = await uow.outages.report(report_id)
            if found is None:
                raise NotFound("no such outage report")
            if found.closed_at is not None:
                raise InvalidInput.one("report_id", "the report is closed")
            serial = await uow.outages.add_note(report_id, note.text, datetime.now(UTC))
        return await self._update(report_id, "add_info", m.InfoAdded(serial=serial), m.ReportStatus)

    async def power_is_back(self, report_id: str) -> m.ReportStatus:
        return await self._update(
            _report(report_id), "power_back", m.PowerBack(at=datetime.now(UTC)), m.ReportStatus
        )

    async def incident_status(self, incident_id: str) -> m.IncidentStatus:
        return await self._query(_incident(incident_id), "status", m.IncidentStatus)

    async def operator_status_changed(self, status: m.OperatorStatus) -> str:
        """A verified status notification from the DSO → the incident following it (by
        signal: the webhook answers at once). Raises NotFound for an incident we do not
        follow, which the webhook answers with 404 so the DSO stops resending."""
        async with self.store.begin() as uow:
            incident_id = await uow.outages.incident_of_reference(status.reference)
        if incident_id is None:
            raise NotFound("no incident follows this operator reference")
        try:
            await self.temporal.get_workflow_handle(incident_id).signal("operator_status", status)
        except RPCError as e:
            if e.status == RPCStatusCode.NOT_FOUND:
                raise NotFound("the incident has ended") from None
            raise
        return incident_id

    # --- staff ------------------------------------------------------------------------------

    async def close_incident(self, incident_id: str, reason: str, staff: str) -> m.IncidentStatus:
        act = validate(m.StaffAction, staff=staff, reason=reason)
        return await self._update(_incident(incident_id), "close", act, m.IncidentStatus)

    async def reopen_incident(self, incident_id: str, reason: str, staff: str) -> m.IncidentStatus:
        act = validate(m.StaffAction, staff=staff, reason=reason)
        return await self._update(_incident(incident_id), "reopen", act, m.IncidentStatus)

    async def merge_incidents(
        self, incident_id: str, into: str, reason: str, staff: str
    ) -> m.IncidentStatus:
        req = validate(m.MergeRequest, target=into, staff=staff, reason=reason)
        return await self._update(_incident(incident_id), "merge_into", req, m.IncidentStatus)

    async def entitlements(self, ppe: str) -> list[dict[str, object]]:
        """Compensation recorded for a PPE (for the back office and the billing export)."""
        checked_ppe = validate(m.Lookup, ppe=ppe).ppe
        async with self.store.begin() as uow:
            found = await uow.outages.entitlements(ppe=checked_ppe)
        return [e.__dict__ for e in found]


def _report(report_id: str) -> str:
    return checked(_REPORT_ID, "report_id", report_id)


def _incident(incident_id: str) -> str:
    return checked(_INCIDENT_ID, "incident_id", incident_id)
