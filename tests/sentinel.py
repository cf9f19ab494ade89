"""Checking that values never reach Temporal: the raw history (as stored by the server, with
no payload codec in the way), the workflow id, its search attributes and description, and the
log records of our code and the SDK."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import pytest
from temporalio.client import WorkflowHandle

# Ours and the SDK's; drivers' debug logs are not switched on in production.
OUR_LOGGERS = {"temporalio", "ebok", "activities", "workflows", "adapters", "worker"}


def watch_logs(caplog: pytest.LogCaptureFixture) -> None:
    """Record every log record, debug included, before the process runs."""
    caplog.set_level(logging.DEBUG)


async def visible_to_temporal(
    handle: WorkflowHandle[object, object], caplog: pytest.LogCaptureFixture
) -> tuple[bytes, list[bytes]]:
    """The raw history, and everything an operator or a log reader could see of the workflow."""
    history = await handle.fetch_history()
    description = await handle.describe()
    raw = history.to_json().encode() + b"".join(e.SerializeToString() for e in history.events)
    logs = "\n".join(r.getMessage() for r in caplog.records if r.name.split(".")[0] in OUR_LOGGERS)
    return raw, [
        raw,
        handle.id.encode(),
        repr(description.typed_search_attributes).encode(),
        str(description.raw_description).encode(),
        logs.encode(),
    ]


def assert_unseen(visible: list[bytes], secrets: Mapping[str, str]) -> None:
    for where in visible:
        for what, value in secrets.items():
            assert value.encode() not in where, f"{what} leaked"
