"""Temporal Cloud's billable actions, counted from a workflow's history.

What counts, from Temporal Cloud's published definition (docs.temporal.io, "Temporal Cloud
Actions" and "Temporal Cloud pricing"; see the bench README for the date):

- a workflow started (by a client, continue-as-new or a child start): 1;
- an activity started or retried: 1 an attempt. The history keeps one ActivityTaskStarted per
  activity, with the number of its last attempt, so the attempts are that number;
- local activities: all the markers one workflow task records count as 1;
- a timer started (the SDK's timers behind a wait with a timeout too): 1;
- a search-attribute upsert: 1 a command (the attributes given with the start are free);
- a signal: 1 (counted where it arrives, so a signal between two workflows counts once);
- an update received by the worker: 1 (an update-with-start: the start and the update);
- a child workflow: 2 (its start initiated and its execution attempted);
- workflow execution options updated: 1.

Not in a history, so not counted here: queries (none of the scenarios' drivers queries),
rejected updates (none of the scenarios' updates is rejected) and activity heartbeats (only
the outage notice pages heartbeat: the SDK sends the first at once, then at most one per 80 % of
their two-minute heartbeat timeout, so about one action per page of mails). A signal-with-start
that starts its workflow is one action in total by the definition; its history shows a start
and a signal, which count two here (storm's incident runs: at most one too many per run).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory

__all__ = ["KINDS", "actions", "from_file", "total"]

E = EventType
# Kinds of action, in the order they are printed.
KINDS = (
    "workflow started",
    "activity attempts",
    "local activity tasks",
    "timers",
    "search attribute upserts",
    "signals",
    "updates",
    "child workflows",
    "options updated",
)
_ONE: dict[int, str] = {
    E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED: "workflow started",
    E.EVENT_TYPE_TIMER_STARTED: "timers",
    E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: "search attribute upserts",
    E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED: "signals",
    E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED: "updates",
    E.EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED: "options updated",
}


def actions(events: Iterable[HistoryEvent]) -> Counter[str]:
    """The billable actions of one history, by kind."""
    out: Counter[str] = Counter()
    marker_tasks: set[int] = set()
    for e in events:
        kind = _ONE.get(e.event_type)
        if kind is not None:
            out[kind] += 1
        elif e.event_type == E.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            out["activity attempts"] += max(e.activity_task_started_event_attributes.attempt, 1)
        elif e.event_type == E.EVENT_TYPE_MARKER_RECORDED:
            marker_tasks.add(e.marker_recorded_event_attributes.workflow_task_completed_event_id)
        elif e.event_type == E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
            out["child workflows"] += 2
    if marker_tasks:
        out["local activity tasks"] = len(marker_tasks)
    return out


def total(counted: Counter[str]) -> int:
    return sum(counted.values())


def from_file(path: Path) -> list[HistoryEvent]:
    """The events of a history saved as JSON (the UI's or ``temporal workflow show``'s)."""
    history = WorkflowHistory.from_json(path.stem, json.loads(path.read_text(encoding="utf-8")))
    return list(history.events)
