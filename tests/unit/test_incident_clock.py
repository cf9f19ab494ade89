"""The incident's clocks as pure rules: which deadline wakes it, when it escalates, when its
reporters are entitled to compensation and when a passed ETA is announced."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from ebok.models import outage as m
from workflows.incident_clock import (
    MAX_ESCALATIONS,
    ack_deadline,
    compensation_due,
    escalation_due,
    eta_passed,
    interruption,
    legal_deadline,
    next_deadline,
    sla_deadline,
    take_status,
)
from workflows.incident_view import current_details

T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
CFG = m.IncidentSettings()


def _status(state: m.OperatorState, minutes: int, **more: datetime) -> m.OperatorStatus:
    return m.OperatorStatus(
        reference="T-1", state=state, changed_at=T0 + timedelta(minutes=minutes), **more
    )


def test_statuses_move_an_incident_forward_only_and_one_notice_tells_all() -> None:
    memo = m.IncidentMemo(phase=m.Phase.REPORTED, reference="T-1")
    eta = T0 + timedelta(hours=4)
    crew = _status(m.OperatorState.CREW_DISPATCHED, 10, expected_restoration=eta)
    assert take_status(memo, crew) == m.NoticeKind.CREW_DISPATCHED
    assert (memo.phase, memo.eta, memo.acknowledged_at) == (
        m.Phase.CREW_DISPATCHED,
        eta,
        crew.changed_at,
    )
    # The acknowledgement overtaken by the dispatch: older, so nothing changes.
    assert take_status(memo, _status(m.OperatorState.ACKNOWLEDGED, 5)) is None
    assert memo.phase == m.Phase.CREW_DISPATCHED
    # Newer but behind: the phase stays, a new ETA is still news.
    later = T0 + timedelta(hours=6)
    ack = _status(m.OperatorState.ACKNOWLEDGED, 20, expected_restoration=later)
    assert take_status(memo, ack) == m.NoticeKind.ETA_CHANGED
    assert (memo.phase, memo.eta) == (m.Phase.CREW_DISPATCHED, later)
    assert take_status(memo, ack) is None  # a repeat tells nothing


def test_the_end_is_final_and_other_tickets_are_ignored() -> None:
    memo = m.IncidentMemo(phase=m.Phase.ACKNOWLEDGED, reference="T-1")
    other = m.OperatorStatus(reference="T-2", state=m.OperatorState.RESTORED, changed_at=T0)
    assert (take_status(memo, other), memo.phase) == (None, m.Phase.ACKNOWLEDGED)
    restored = _status(m.OperatorState.RESTORED, 30)
    assert take_status(memo, restored) == m.NoticeKind.RESTORED
    assert (memo.phase, memo.restored_at) == (m.Phase.RESTORED, restored.changed_at)
    assert take_status(memo, _status(m.OperatorState.CREW_DISPATCHED, 40)) is None
    assert memo.phase == m.Phase.RESTORED


def test_a_planned_outage_stays_planned_until_it_ends() -> None:
    memo = m.IncidentMemo(phase=m.Phase.PLANNED, kind=m.Kind.PLANNED, reference="T-1")
    crew = _status(m.OperatorState.CREW_DISPATCHED, 1)
    assert (take_status(memo, crew), memo.phase) == (None, m.Phase.PLANNED)
    assert take_status(memo, _status(m.OperatorState.CANCELLED, 2)) == m.NoticeKind.CANCELLED
    assert memo.phase == m.Phase.CANCELLED


def test_acknowledgement_is_due_again_after_each_escalation() -> None:
    memo = m.IncidentMemo(phase=m.Phase.REPORTED, opened_at=T0)
    assert ack_deadline(memo, CFG) == T0 + CFG.ack_sla
    assert not escalation_due(memo, CFG, T0 + CFG.ack_sla - timedelta(seconds=1))
    assert escalation_due(memo, CFG, T0 + CFG.ack_sla)
    memo.escalations = 1
    assert ack_deadline(memo, CFG) == T0 + 2 * CFG.ack_sla
    assert not escalation_due(memo, CFG, T0 + CFG.ack_sla)


def test_no_escalation_once_acknowledged_or_past_the_limit() -> None:
    late = T0 + 100 * CFG.ack_sla
    assert not escalation_due(m.IncidentMemo(phase=m.Phase.ACKNOWLEDGED, opened_at=T0), CFG, late)
    exhausted = m.IncidentMemo(phase=m.Phase.REPORTED, opened_at=T0, escalations=MAX_ESCALATIONS)
    assert not escalation_due(exhausted, CFG, late)
    assert next_deadline(exhausted, CFG, watching=True) is None


def test_compensation_only_for_an_unplanned_interruption_past_the_limit() -> None:
    memo = m.IncidentMemo(phase=m.Phase.ACKNOWLEDGED, started_at=T0)
    limit = T0 + CFG.compensation_threshold
    assert legal_deadline(memo, CFG) == limit
    assert not compensation_due(memo, CFG, limit - timedelta(seconds=1))
    assert compensation_due(memo, CFG, limit)
    memo.entitled = True
    assert not compensation_due(memo, CFG, limit)
    planned = m.IncidentMemo(phase=m.Phase.PLANNED, kind=m.Kind.PLANNED, started_at=T0)
    assert legal_deadline(planned, CFG) is None
    assert not compensation_due(planned, CFG, limit + timedelta(days=9))


def test_a_passed_eta_is_announced_once_and_never_after_the_end() -> None:
    eta = T0 + timedelta(hours=2)
    memo = m.IncidentMemo(phase=m.Phase.CREW_DISPATCHED, eta=eta)
    assert not eta_passed(memo, eta - timedelta(seconds=1))
    assert eta_passed(memo, eta)
    memo.delayed_for = eta  # told
    assert not eta_passed(memo, eta + timedelta(hours=1))
    ended = m.IncidentMemo(phase=m.Phase.RESTORED, eta=eta)
    assert not eta_passed(ended, eta + timedelta(hours=1))


def test_operators_see_the_acknowledgement_then_the_eta() -> None:
    memo = m.IncidentMemo(phase=m.Phase.REPORTED, opened_at=T0, started_at=T0)
    assert sla_deadline(memo, CFG) == T0 + CFG.ack_sla
    memo.phase = m.Phase.ACKNOWLEDGED
    assert sla_deadline(memo, CFG) == T0 + CFG.compensation_threshold
    memo.eta = T0 + timedelta(hours=3)
    assert sla_deadline(memo, CFG) == memo.eta


def test_an_ended_incident_wakes_at_the_end_of_its_grace() -> None:
    ended = T0 + timedelta(hours=5)
    memo = m.IncidentMemo(phase=m.Phase.RESTORED, opened_at=T0, started_at=T0, ended_at=ended)
    assert next_deadline(memo, CFG, watching=True) == ended + CFG.reopen_grace


_times = st.none() | st.integers(min_value=0, max_value=10**6).map(
    lambda s: T0 + timedelta(seconds=s)
)


@given(
    phase=st.sampled_from(list(m.Phase)),
    opened=_times,
    eta=_times,
    next_poll=_times,
    confirm_at=_times,
    escalations=st.integers(min_value=0, max_value=MAX_ESCALATIONS),
    entitled=st.booleans(),
    watching=st.booleans(),
)
def test_the_incident_sleeps_until_the_earliest_thing_due(
    phase: m.Phase,
    opened: datetime | None,
    eta: datetime | None,
    next_poll: datetime | None,
    confirm_at: datetime | None,
    escalations: int,
    entitled: bool,
    watching: bool,
) -> None:
    memo = m.IncidentMemo(
        phase=phase,
        opened_at=opened,
        started_at=opened,
        eta=eta,
        next_poll=next_poll,
        unconfirmed=confirm_at is not None,
        confirm_at=confirm_at,
        escalations=escalations,
        entitled=entitled,
        ended_at=opened if phase.terminal else None,
    )
    due = next_deadline(memo, CFG, watching=watching)
    # Nothing that the step acts on comes before the deadline it sleeps until.
    if due is None:
        return
    before = due - timedelta(seconds=1)
    assert not (not phase.terminal and escalation_due(memo, CFG, before))
    assert not (not phase.terminal and compensation_due(memo, CFG, before))
    assert not eta_passed(memo, before)
    assert not (memo.unconfirmed and confirm_at is not None and before >= confirm_at)
    # And the deadline is one of them.
    candidates = {
        ack_deadline(memo, CFG),
        legal_deadline(memo, CFG),
        eta,
        next_poll,
        confirm_at,
        (opened + CFG.reopen_grace) if opened is not None else None,
    }
    assert due in candidates


def test_planned_work_has_its_own_limit_once_the_incident_knows_the_rule() -> None:
    older = m.IncidentMemo(phase=m.Phase.PLANNED, kind=m.Kind.PLANNED, started_at=T0)
    assert legal_deadline(older, CFG) is None  # started before the rule: no timer
    memo = older.model_copy(update={"planned_limit": True})
    assert legal_deadline(memo, CFG) == T0 + timedelta(hours=16)
    assert not compensation_due(memo, CFG, T0 + timedelta(hours=16) - timedelta(seconds=1))
    assert compensation_due(memo, CFG, T0 + timedelta(hours=16))
    unplanned = m.IncidentMemo(phase=m.Phase.REPORTED, started_at=T0, planned_limit=True)
    assert legal_deadline(unplanned, CFG) == T0 + timedelta(hours=24)


def test_only_a_restoration_counts_as_an_interruption() -> None:
    memo = m.IncidentMemo(phase=m.Phase.RESTORED, started_at=T0, restored_at=T0 + H3)
    assert interruption(memo) == m.Interruption(kind=m.Kind.UNPLANNED, start=T0, end=T0 + H3)
    for phase in (m.Phase.CANCELLED, m.Phase.CLOSED, m.Phase.ACKNOWLEDGED):
        assert interruption(memo.model_copy(update={"phase": phase})) is None


H3 = timedelta(hours=3)


def test_after_the_end_the_details_name_the_next_step_for_staff() -> None:
    inp = m.IncidentInput(incident_id="incident-T-1", area="warszawa-wola")
    running = m.IncidentMemo(phase=m.Phase.ACKNOWLEDGED, reports=3)
    assert "Next:" not in current_details(inp, running)
    restored = m.IncidentMemo(
        phase=m.Phase.RESTORED, reports=3, customers_restored=1, ended_at=T0, entitled=True
    )
    details = current_details(inp, restored)
    assert "Next: 2 reporter(s) have not said power is back" in details
    assert "`ebok incident incident-T-1 reopen` until 2026-12-07 12:00 UTC" in details
    assert "customers claim it from Stoen Operator" in details
    all_back = restored.model_copy(update={"customers_restored": 3, "entitled": False})
    assert "Next: nothing unless customers call without power" in current_details(inp, all_back)
    cancelled = restored.model_copy(update={"phase": m.Phase.CANCELLED})
    assert "no fault in its network" in current_details(inp, cancelled)
    merged = m.IncidentMemo(phase=m.Phase.MERGED, merged_into="incident-T-2", ended_at=T0)
    assert current_details(inp, merged).endswith("Next: nothing here; follow incident-T-2.")
