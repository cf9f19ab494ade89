"""Outage reports from customers, and incidents: status for the portal, actions for staff."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from ebok.models import outage as m
from entrypoints.api.auth import CUSTOMER_FACING, scope
from entrypoints.api.deps import Ebok
from entrypoints.api.idempotency import IdempotentRoute
from entrypoints.api.problems import responses

router = APIRouter(
    route_class=IdempotentRoute,
    prefix="/v1",
    tags=["outages"],
    dependencies=[Depends(scope("outages"))],
    responses=responses(401, 403, 422, 429),
)


class OutageReport(BaseModel):
    ppe: str
    description: str
    account_id: str | None = None
    email: str | None = None
    phone: str | None = None
    language: str = "pl"


class Info(BaseModel):
    text: str


class StaffAction(BaseModel):
    reason: str
    staff: str


class MergeAction(StaffAction):
    into: str


_REPORT = "/outage-reports/{report_id}"
_INCIDENT = "/incidents/{incident_id}"


@router.post(
    "/outage-reports", status_code=201, responses=responses(404), dependencies=CUSTOMER_FACING
)
async def report(body: OutageReport, ebok: Ebok) -> m.ReportAccepted:
    """No power at a PPE. The same customer reporting it again gets the same report back."""
    return await ebok.report_outage(
        body.ppe,
        body.description,
        account_id=body.account_id,
        email=body.email,
        phone=body.phone,
        language=body.language,
    )


@router.get(_REPORT, responses=responses(404))
async def status(report_id: str, ebok: Ebok) -> m.OutageView:
    return await ebok.outage_status(report_id)


@router.post(_REPORT + "/notes", responses=responses(404, 409))
async def add_info(report_id: str, body: Info, ebok: Ebok) -> m.ReportStatus:
    return await ebok.add_outage_info(report_id, body.text)


@router.post(_REPORT + "/power-back", responses=responses(404, 409))
async def power_back(report_id: str, ebok: Ebok) -> m.ReportStatus:
    """The customer says power is back."""
    return await ebok.power_is_back(report_id)


@router.get(_INCIDENT, responses=responses(404))
async def incident(incident_id: str, ebok: Ebok) -> m.IncidentStatus:
    return await ebok.incident_status(incident_id)


_STAFF = [Depends(scope("staff"))]
_STAFF_ANSWERS = responses(404, 409)


@router.post(_INCIDENT + "/close", dependencies=_STAFF, responses=_STAFF_ANSWERS)
async def close(incident_id: str, body: StaffAction, ebok: Ebok) -> m.IncidentStatus:
    return await ebok.close_incident(incident_id, body.reason, body.staff)


@router.post(_INCIDENT + "/reopen", dependencies=_STAFF, responses=_STAFF_ANSWERS)
async def reopen(incident_id: str, body: StaffAction, ebok: Ebok) -> m.IncidentStatus:
    return await ebok.reopen_incident(incident_id, body.reason, body.staff)


@router.post(_INCIDENT + "/merge", dependencies=_STAFF, responses=_STAFF_ANSWERS)
async def merge(incident_id: str, body: MergeAction, ebok: Ebok) -> m.IncidentStatus:
    """This incident's reports join ``into``."""
    return await ebok.merge_incidents(incident_id, body.into, body.reason, body.staff)
