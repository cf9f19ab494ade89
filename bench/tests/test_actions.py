"""Temporal Cloud's billable actions, counted from histories."""

from __future__ import annotations

from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

from bench.actions import actions, from_file, total

HISTORIES = Path(__file__).resolve().parents[2] / "tests" / "histories"


def test_each_attempt_of_an_activity_counts() -> None:
    started = HistoryEvent(event_type=EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED)
    started.activity_task_started_event_attributes.attempt = 3
    assert actions([started]) == {"activity attempts": 3}


def test_the_markers_of_one_workflow_task_count_once() -> None:
    def marker(task: int) -> HistoryEvent:
        event = HistoryEvent(event_type=EventType.EVENT_TYPE_MARKER_RECORDED)
        event.marker_recorded_event_attributes.workflow_task_completed_event_id = task
        return event

    assert actions([marker(4), marker(4), marker(9)]) == {"local activity tasks": 2}


def test_a_child_workflow_counts_twice_and_bookkeeping_not_at_all() -> None:
    events = [
        HistoryEvent(event_type=EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED),
        HistoryEvent(event_type=EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED),
        HistoryEvent(event_type=EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
        HistoryEvent(event_type=EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED),
        HistoryEvent(event_type=EventType.EVENT_TYPE_TIMER_FIRED),
    ]
    assert actions(events) == {"child workflows": 2}


def test_an_invoice_paid_on_time_from_its_recorded_history() -> None:
    counted = actions(from_file(HISTORIES / "invoice_paid_online.json"))
    # As the file shows: one start, three activities of one attempt each, one workflow task
    # with local activities, the reminder's timer, the payment's signal, four status upserts.
    assert counted == {
        "workflow started": 1,
        "activity attempts": 3,
        "local activity tasks": 1,
        "timers": 1,
        "search attribute upserts": 4,
        "signals": 1,
    }
    assert total(counted) == 11
