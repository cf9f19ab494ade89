"""Outage reporting (process 5): a customer's report → the area's incident at the grid operator
→ status changes mailed to every reporter → restored; over 24 h unplanned → compensation.

Two workflow types:

- ``OutageReport``, id ``outage-<random>``: one customer's report for one PPE. Contact data and
  the description stay in the store (``outage_reports``); the workflow sees ids, the PPE and
  the area. Duplicate reports of one customer for one PPE, while open, are the same report.
- ``OutageIncident``, id ``incident-<area>-<random>``: one incident at the DSO, which collects
  reports by signal, opens at most one operator ticket, follows its status (webhook signal, or
  a watch: one activity the server retries while nothing changes) and mails reporters in
  batches read from the store. It keeps counts, not reporters, and continues as new with
  :class:`IncidentMemo`.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    model_validator,
)

from ebok.ids import PPE
from ebok.models.registration import Language, RegistrationId, _no_controls, _rfc_lengths

REPORT_WORKFLOW = "OutageReport"
INCIDENT_WORKFLOW = "OutageIncident"
REPORT_PREFIX = "outage"
INCIDENT_PREFIX = "incident"

# activities of the report
LOCATE = "outage.locate"
ATTACH = "outage.attach"
CLOSE_REPORT = "outage.close_report"
TELL_REPORTER = "outage.tell_reporter"
# activities of the incident
LOOKUP = "outage.lookup"
FOLLOW = "outage.follow"
OPEN_TICKET = "outage.open_ticket"
TICKET_STATUS = "outage.ticket_status"
WATCH_TICKET = "outage.watch_ticket"
UNCHANGED = "Unchanged"  # what the watch fails with while the ticket has no news
NOTIFY = "outage.notify"
ENTITLE = "outage.entitle"
END_INTERRUPTION = "outage.end_interruption"
ESCALATE = "outage.escalate"
RELEASE = "outage.release"
MERGE = "outage.merge"
FINALIZE = "outage.finalize"

_FROZEN = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

ReportId = Annotated[str, StringConstraints(pattern=r"^outage-[a-z2-7]{26}$")]
IncidentId = Annotated[str, StringConstraints(pattern=r"^incident-[A-Za-z0-9._-]{1,100}$")]
Staff = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f]+$")]
Reason = Annotated[
    str, StringConstraints(min_length=3, max_length=500, pattern=r"^[^\x00-\x08\x0b-\x1f]*$")
]
Description = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=3, max_length=2000, pattern=r"^[^\x00-\x08\x0b-\x1f]*$"
    ),
]
Phone = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9 -]{7,18}[0-9]$"),
    # One number however it is spaced, so a repeated report finds the open one.
    AfterValidator(lambda v: v.replace(" ", "").replace("-", "")),
]

_AREA_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def area_slug(area: str) -> str:
    """The DSO's area name as a workflow-id part: a network area, never anything personal."""
    return _AREA_UNSAFE.sub("_", area.strip())[:31] or "unknown"


class Kind(StrEnum):
    UNPLANNED = "unplanned"
    PLANNED = "planned"


class OperatorState(StrEnum):
    """The DSO's incident states (mirrors adapters.operator.base.IncidentState)."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    CREW_DISPATCHED = "crew_dispatched"
    RESTORED = "restored"
    CANCELLED = "cancelled"


class Phase(StrEnum):
    """Where an incident stands on our side."""

    FORMING = "forming"  # asking the operator what it knows, or opening the ticket
    REPORTED = "reported"  # a ticket is open, nobody at the DSO has acknowledged it yet
    ACKNOWLEDGED = "acknowledged"
    CREW_DISPATCHED = "crew_dispatched"
    PLANNED = "planned"  # announced work with a window
    RESTORED = "restored"
    CANCELLED = "cancelled"  # by the DSO: not a network outage
    CLOSED = "closed"  # by staff
    MERGED = "merged"  # into another incident, by staff or because both follow one DSO id

    @property
    def terminal(self) -> bool:
        return self in (Phase.RESTORED, Phase.CANCELLED, Phase.CLOSED, Phase.MERGED)


class NoticeKind(StrEnum):
    """A change every reporter is told of; each is one template."""

    RECEIVED = "received"  # sent to a reporter on attaching, with the current situation
    TICKET_OPENED = "ticket_opened"
    PLANNED = "planned"
    ACKNOWLEDGED = "acknowledged"
    CREW_DISPATCHED = "crew_dispatched"
    ETA_SET = "eta_set"  # the DSO's first expected restoration time
    ETA_CHANGED = "eta_changed"
    DELAYED = "delayed"  # the ETA passed without news
    COMPENSATION = "compensation"  # over the legal limit: entitled to a bonifikata
    RESTORED = "restored"
    CANCELLED = "cancelled"
    CLOSED = "closed"
    REOPENED = "reopened"


class ReportState(StrEnum):
    LOCATING = "locating"
    ATTACHED = "attached"
    REJECTED = "rejected"  # the DSO does not know the PPE
    POWER_BACK = "power_back"  # the customer said so
    CLOSED = "closed"  # the incident ended


# --- what the portal sends (validated by the facade; contact data never enters Temporal) ------


class ReportRequest(BaseModel):
    """A customer's report: a linked account, or anonymous with an e-mail address or phone."""

    model_config = _FROZEN
    ppe: PPE
    description: Description
    account_id: RegistrationId | None = None
    email: (
        Annotated[EmailStr, BeforeValidator(_no_controls), AfterValidator(_rfc_lengths)] | None
    ) = None
    phone: Phone | None = None
    language: Language = "pl"

    @model_validator(mode="after")
    def _who(self) -> ReportRequest:
        if self.account_id is None and self.email is None and self.phone is None:
            raise ValueError("give the account, or an e-mail address or phone number to reach you")
        if self.account_id is not None and (self.email is not None or self.phone is not None):
            raise ValueError("a linked account is reached at its own address; give no contact")
        return self


class ReportAccepted(BaseModel):
    report_id: str
    # The customer's report for this PPE was open (its incident still going): the same one.
    # A report whose incident has ended (restored, cancelled, closed) is never a duplicate.
    duplicate: bool
    # A duplicate's description was added to the open report as the customer's note.
    info_added: bool = False


class Note(BaseModel):
    model_config = _FROZEN
    text: Description


# --- what the DSO said, as workflow data ---------------------------------------------------------


class Outage(BaseModel):
    """A known outage (planned or unplanned) covering a PPE."""

    model_config = _FROZEN
    reference: str
    kind: Kind
    area: str
    state: OperatorState
    started_at: datetime
    expected_restoration: datetime | None = None
    window_end: datetime | None = None


class Located(BaseModel):
    model_config = _FROZEN
    area: str | None = None  # None: the DSO refused the PPE
    outage: Outage | None = None


class OperatorStatus(BaseModel):
    """Signal ``operator_status`` (verified webhook) and what a look at the ticket finds."""

    model_config = _FROZEN
    reference: str
    state: OperatorState
    changed_at: datetime
    acknowledged_at: datetime | None = None
    expected_restoration: datetime | None = None
    restored_at: datetime | None = None


# --- the report -----------------------------------------------------------------------------------


class ReportInput(BaseModel):
    model_config = _FROZEN
    report_id: ReportId
    ppe: PPE
    reported_at: datetime
    area: str | None = None  # from billing when the PPE is ours; else the DSO is asked
    household: bool = True
    patience: timedelta = timedelta(days=30)  # a report nobody closes ends after this


class Attach(BaseModel):
    """Signal ``attach`` to the incident: one more report. No contact data."""

    model_config = _FROZEN
    report_id: ReportId
    ppe: PPE
    reported_at: datetime
    outage: Outage | None = None  # when the DSO already knew of it


class AttachRequest(BaseModel):
    model_config = _FROZEN
    report_id: ReportId
    ppe: PPE
    area: str
    reported_at: datetime
    outage: Outage | None = None


class Attached(BaseModel):
    model_config = _FROZEN
    incident_id: str


class CloseReport(BaseModel):
    model_config = _FROZEN
    report_id: ReportId
    at: datetime
    power_back: bool = False


class ReportClosed(BaseModel):
    model_config = _FROZEN
    incident_id: str | None = None


class TellReporter(BaseModel):
    """One mail to one reporter, outside any incident (a refused PPE)."""

    model_config = _FROZEN
    report_id: ReportId
    template: Literal["outage_rejected"]


class IncidentClosed(BaseModel):
    """Signal ``incident_closed`` to a report: its incident has ended for good."""

    model_config = _FROZEN
    incident_id: str
    phase: Phase


class InfoAdded(BaseModel):
    """Update ``add_info``: the text is in the store already (note ``serial``)."""

    model_config = _FROZEN
    serial: int = Field(ge=1)


class PowerBack(BaseModel):
    """Update ``power_back``: the customer says the power has come back."""

    model_config = _FROZEN
    at: datetime


class ReportStatus(BaseModel):
    report_id: str
    state: ReportState
    ppe: str
    area: str | None = None
    incident_id: str | None = None
    notes: int = 0
    closed_at: datetime | None = None


# --- the incident --------------------------------------------------------------------------------


class IncidentSettings(BaseModel):
    """Copied from settings by the activity that starts the incident."""

    model_config = _FROZEN
    ack_sla: timedelta = timedelta(minutes=30)
    compensation_threshold: timedelta = timedelta(hours=24)
    # Planned work over this (16 h for households: docs/outage-compensation.md) is compensated
    # too; incidents that started before this rule have ``IncidentMemo.planned_limit`` unset.
    planned_threshold: timedelta = timedelta(hours=16)
    poll_interval: timedelta = timedelta(minutes=10)
    reopen_grace: timedelta = timedelta(hours=24)
    confirm_delay: timedelta = timedelta(seconds=20)
    reports_per_run: int = Field(default=500, ge=10)


class Notice(BaseModel):
    """What reporters are told; ``serial`` orders them and makes each mail's Message-ID."""

    model_config = _FROZEN
    serial: int
    kind: NoticeKind
    phase: Phase
    outage_kind: Kind = Kind.UNPLANNED
    started_at: datetime | None = None
    eta: datetime | None = None
    window_end: datetime | None = None
    restored_at: datetime | None = None
    entitled: bool = False
    limit: timedelta | None = None  # the single interruption's legal limit, when there is one


class IncidentMemo(BaseModel):
    """The whole state of an incident: carried over at continue-as-new."""

    phase: Phase = Phase.FORMING
    kind: Kind = Kind.UNPLANNED
    reference: str | None = None
    first: Attach | None = None  # the report that opened it (for the ticket)
    opened_at: datetime | None = None
    started_at: datetime | None = None  # start of the interruption: the legal clock
    acknowledged_at: datetime | None = None
    eta: datetime | None = None
    window_end: datetime | None = None
    restored_at: datetime | None = None
    ended_at: datetime | None = None  # when it became terminal (the re-open grace counts)
    reports: int = 0
    customers_restored: int = 0
    notice: Notice | None = None
    unconfirmed: bool = False  # reports attached since the last confirmation batch
    confirm_at: datetime | None = None  # when that batch goes (a burst is gathered first)
    escalations: int = 0
    entitled: bool = False
    delayed_for: datetime | None = None  # the ETA the "delayed" mail was about
    next_poll: datetime | None = None  # histories from before the watch poll on a timer
    seen: OperatorStatus | None = None  # the DSO's newest status we know: the watch's baseline
    status_at: datetime | None = None  # ``changed_at`` of the newest DSO status applied
    merged_into: str | None = None
    absorbed: list[str] = []  # incidents merged into this one (a repeated signal counts once)
    detail: str = ""
    planned_limit: bool = False  # planned work has its legal limit too (not in older runs)


class IncidentInput(BaseModel):
    model_config = _FROZEN
    incident_id: IncidentId
    area: str
    settings: IncidentSettings = IncidentSettings()
    memo: IncidentMemo | None = None  # set when continuing as new


class StaffAction(BaseModel):
    """Updates ``close`` and ``reopen`` from the back office."""

    model_config = _FROZEN
    staff: Staff
    reason: Reason


class MergeRequest(BaseModel):
    """Update ``merge_into``: this incident's reports join ``target``."""

    model_config = _FROZEN
    target: IncidentId
    staff: Staff
    reason: Reason


class Absorb(BaseModel):
    """Signal ``absorb`` to the target of a merge: the reports moved to it."""

    model_config = _FROZEN
    source: str
    reports: int = Field(ge=0)


class CustomerRestored(BaseModel):
    """Signal ``customer_restored``: one reporter said the power is back."""

    model_config = _FROZEN
    report_id: ReportId


class IncidentStatus(BaseModel):
    """The ``status`` query: no personal data, counts only."""

    incident_id: str
    area: str
    phase: Phase
    kind: Kind
    reference: str | None = None
    reports: int = 0
    customers_restored: int = 0
    started_at: datetime | None = None
    acknowledged_at: datetime | None = None
    eta: datetime | None = None
    window_end: datetime | None = None
    restored_at: datetime | None = None
    escalations: int = 0
    entitled: bool = False
    merged_into: str | None = None
    detail: str = ""


class OutageView(BaseModel):
    """For the portal: the customer's report and what is known of its incident."""

    report: ReportStatus
    incident: IncidentStatus | None = None


# --- incident activities -------------------------------------------------------------------------


class Lookup(BaseModel):
    model_config = _FROZEN
    ppe: PPE


class Follow(BaseModel):
    model_config = _FROZEN
    incident_id: str
    reference: str
    kind: Kind


class Followed(BaseModel):
    model_config = _FROZEN
    owner: str  # the incident that follows this DSO id: ours, or one that got there first


class OpenTicket(BaseModel):
    model_config = _FROZEN
    incident_id: str
    report_id: ReportId
    area: str
    reported_at: datetime


class Ticket(BaseModel):
    model_config = _FROZEN
    reference: str
    state: OperatorState


class StatusRequest(BaseModel):
    model_config = _FROZEN
    incident_id: str
    reference: str


class WatchRequest(BaseModel):
    """Ask the DSO until it has news: ``known`` is the newest status the incident has."""

    model_config = _FROZEN
    incident_id: str
    reference: str
    known: OperatorStatus | None = None

    def is_news(self, status: OperatorStatus) -> bool:
        """Anything but ``known`` again, or an older status (a lagging replica of the DSO's)."""
        known = self.known
        if known is None:
            return True
        return status != known and status.changed_at >= known.changed_at


class Notify(BaseModel):
    model_config = _FROZEN
    incident_id: str
    area: str
    notice: Notice


class NotifyResult(BaseModel):
    model_config = _FROZEN
    sent: int


class Entitle(BaseModel):
    """Record the bonifikata for every open household report of the incident (idempotent)."""

    model_config = _FROZEN
    incident_id: str
    start: datetime
    at: datetime


class EndInterruption(BaseModel):
    model_config = _FROZEN
    incident_id: str
    end: datetime


class Counted(BaseModel):
    model_config = _FROZEN
    count: int


class Escalate(BaseModel):
    model_config = _FROZEN
    incident_id: str
    area: str
    since: datetime
    reports: int
    reason: Literal["no_acknowledgement", "ticket_refused"]
    serial: int


class Interruption(BaseModel):
    """How long the power was off, counted towards every reporting PPE's yearly totals."""

    model_config = _FROZEN
    kind: Kind
    start: datetime
    end: datetime


class Release(BaseModel):
    """The incident no longer takes new reports of its area (a new failure is a new incident);
    a restored one also counts its ``interruption`` for every PPE reported in it."""

    model_config = _FROZEN
    incident_id: str
    phase: Phase
    at: datetime
    interruption: Interruption | None = None


class Merge(BaseModel):
    model_config = _FROZEN
    source: str
    target: str
    at: datetime


class Finalize(BaseModel):
    model_config = _FROZEN
    incident_id: str
    phase: Phase
    at: datetime
