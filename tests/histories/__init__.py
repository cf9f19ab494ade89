"""Stored histories for the replay tests, and what the tests read out of live ones."""

from __future__ import annotations

from temporalio.client import WorkflowHistory


def search_attribute_writes(history: WorkflowHistory) -> tuple[set[str], list[str]]:
    """The search attributes given with the start, and those upserted after (in order)."""
    started = history.events[0].workflow_execution_started_event_attributes
    upserts = [
        e.upsert_workflow_search_attributes_event_attributes.search_attributes
        for e in history.events
        if e.HasField("upsert_workflow_search_attributes_event_attributes")
    ]
    upserted = [name for attributes in upserts for name in attributes.indexed_fields]
    return set(started.search_attributes.indexed_fields), upserted
