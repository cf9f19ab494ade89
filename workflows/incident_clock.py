"""The phases and clocks of an outage incident: functions of its memo and settings, no
Temporal calls, so the rules that move and wake ``OutageIncident``
(``workflows/outage_incident.py``) can be read and tested in one place.

The phases: the DSO's statuses move an incident forward only (``ORDER``), a planned one stays
planned until it ends, and a restored or cancelled ticket ends it.

The clocks: the DSO's acknowledgement is due ``ack_sla`` after the first report (again after
each escalation, at most ``MAX_ESCALATIONS`` of them); an unplanned interruption entitles its
reporters to compensation ``compensation_threshold`` after it started, planned work
``planned_threshold`` after it started, limits that never pause; the ETA, once passed, is
announced as a delay; new reports are confirmed in batches ``confirm_delay`` after the first
of a batch; an ended incident stays open ``reopen_grace``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from ebok.models import outage as m

MAX_ESCALATIONS = 3

ORDER = {  # how far along an incident is; the DSO's statuses never move it back
    m.Phase.FORMING: 0,
    m.Phase.REPORTED: 1,
    m.Phase.PLANNED: 1,
    m.Phase.ACKNOWLEDGED: 2,
    m.Phase.CREW_DISPATCHED: 3,
}
FROM_OPERATOR = {
    m.OperatorState.OPEN: m.Phase.REPORTED,
    m.OperatorState.ACKNOWLEDGED: m.Phase.ACKNOWLEDGED,
    m.OperatorState.CREW_DISPATCHED: m.Phase.CREW_DISPATCHED,
    m.OperatorState.RESTORED: m.Phase.RESTORED,
    m.OperatorState.CANCELLED: m.Phase.CANCELLED,
}
NOTICE_OF = {
    m.Phase.ACKNOWLEDGED: m.NoticeKind.ACKNOWLEDGED,
    m.Phase.CREW_DISPATCHED: m.NoticeKind.CREW_DISPATCHED,
    m.Phase.RESTORED: m.NoticeKind.RESTORED,
    m.Phase.CANCELLED: m.NoticeKind.CANCELLED,
}


def take_status(s: m.IncidentMemo, st: m.OperatorStatus) -> m.NoticeKind | None:
    """Merge one of the DSO's statuses into the memo; the notice it calls for, if any (one
    notice tells everything that is new). A status for another ticket, one older than the
    newest applied (the DSO's notifications may overtake each other) or one arriving after the
    end changes nothing: a late or repeated notification never undoes an ended incident."""
    if s.phase.terminal or st.reference != s.reference:
        return None
    if s.status_at is not None and st.changed_at < s.status_at:
        return None
    s.status_at = st.changed_at
    target = FROM_OPERATOR[st.state]
    if target.terminal:
        s.phase = target
        if target == m.Phase.RESTORED:
            s.restored_at = st.restored_at or st.changed_at
        return NOTICE_OF[target]
    kinds: list[m.NoticeKind] = []
    if st.acknowledged_at is not None and s.acknowledged_at is None:
        s.acknowledged_at = st.acknowledged_at
    if s.phase != m.Phase.PLANNED and ORDER[target] > ORDER[s.phase]:
        s.phase = target
        s.acknowledged_at = s.acknowledged_at or st.changed_at
        kinds.append(NOTICE_OF[target])
    if st.expected_restoration is not None and st.expected_restoration != s.eta:
        # The first time is no "new" time: the mail says the DSO gave one.
        kinds.append(m.NoticeKind.ETA_SET if s.eta is None else m.NoticeKind.ETA_CHANGED)
        s.eta = st.expected_restoration
    return kinds[0] if kinds else None


def ack_deadline(s: m.IncidentMemo, cfg: m.IncidentSettings) -> datetime | None:
    """When the DSO should have acknowledged the ticket, counting the escalations so far."""
    return s.opened_at + cfg.ack_sla * (s.escalations + 1) if s.opened_at else None


def escalation_at(s: m.IncidentMemo, cfg: m.IncidentSettings) -> datetime | None:
    """When the incident escalates to staff, while the DSO has not acknowledged it and the
    escalations are not used up."""
    if s.phase not in (m.Phase.FORMING, m.Phase.REPORTED) or s.escalations >= MAX_ESCALATIONS:
        return None
    return ack_deadline(s, cfg)


def escalation_due(s: m.IncidentMemo, cfg: m.IncidentSettings, now: datetime) -> bool:
    return _reached(escalation_at(s, cfg), now)


def legal_limit(s: m.IncidentMemo, cfg: m.IncidentSettings) -> timedelta | None:
    """How long the interruption may last: ``compensation_threshold`` if unplanned,
    ``planned_threshold`` if planned (for incidents that know that rule)."""
    if s.kind == m.Kind.UNPLANNED:
        return cfg.compensation_threshold
    return cfg.planned_threshold if s.planned_limit else None


def legal_deadline(s: m.IncidentMemo, cfg: m.IncidentSettings) -> datetime | None:
    """The end of the permissible interruption; it runs from the start and never pauses."""
    limit = legal_limit(s, cfg)
    if limit is None or s.started_at is None:
        return None
    return s.started_at + limit


def interruption(s: m.IncidentMemo) -> m.Interruption | None:
    """The interruption a restored incident counts towards its PPEs' yearly totals: from its
    start to the DSO's restoration. Cancelled (not the network) or closed by staff: none."""
    if s.phase != m.Phase.RESTORED or s.started_at is None or s.restored_at is None:
        return None
    return m.Interruption(kind=s.kind, start=s.started_at, end=max(s.restored_at, s.started_at))


def compensation_at(s: m.IncidentMemo, cfg: m.IncidentSettings) -> datetime | None:
    """When the reporters become entitled to compensation, unless they already are."""
    return None if s.entitled else legal_deadline(s, cfg)


def compensation_due(s: m.IncidentMemo, cfg: m.IncidentSettings, now: datetime) -> bool:
    return _reached(compensation_at(s, cfg), now)


def delay_at(s: m.IncidentMemo) -> datetime | None:
    """When the reporters are told the ETA has passed: at the ETA, once per ETA, until the end."""
    if s.phase.terminal or s.eta is None or s.delayed_for == s.eta:
        return None
    return s.eta


def eta_passed(s: m.IncidentMemo, now: datetime) -> bool:
    """The ETA went by without a restoration, and the reporters have not been told yet."""
    return _reached(delay_at(s), now)


def _reached(at: datetime | None, now: datetime) -> bool:
    return at is not None and now >= at


def sla_deadline(s: m.IncidentMemo, cfg: m.IncidentSettings) -> datetime | None:
    """The deadline operators filter on: the acknowledgement, then the ETA or the legal limit."""
    if s.phase in (m.Phase.FORMING, m.Phase.REPORTED):
        return ack_deadline(s, cfg)
    return s.eta or legal_deadline(s, cfg)


def next_deadline(s: m.IncidentMemo, cfg: m.IncidentSettings, *, watching: bool) -> datetime | None:
    """The earliest moment something is due; the incident sleeps until then or a message.
    Without the ticket watch (older histories) the next status poll is one of them."""
    times: list[datetime | None] = []
    if s.phase.terminal:
        times.append(s.ended_at + cfg.reopen_grace if s.ended_at else None)
    else:
        times += [escalation_at(s, cfg), delay_at(s), compensation_at(s, cfg)]
        if not watching:
            times.append(s.next_poll)
    if s.unconfirmed:
        times.append(s.confirm_at)
    present = [t for t in times if t is not None]
    return min(present) if present else None
