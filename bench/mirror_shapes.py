"""What the mirror workflows share: the bare mirror's activity call, with our activities' names,
inputs and results. Passed through the sandbox: it holds no state.

A *mirror* workflow is the bare mirror's workflow code (``bench/bare_*.py``: the same activities,
updates, timers and waits, every store step an ordinary activity) registered under our workflow
type and message names, so the facade drives it as it drives ours, and calling our real
activities, built by ``activities.build_activities`` as ``worker.py`` builds them. Our side and
the mirror then differ in the workflow code alone.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow

from bench.bare_shapes import RETRY, TIMEOUT

__all__ = ["call", "update_id"]


async def call(name: str, arg: object, result_type: type | None = None) -> Any:
    """One of our activities, with the bare mirror's timeout and retry policy."""
    return await workflow.execute_activity(
        name, arg, start_to_close_timeout=TIMEOUT, retry_policy=RETRY, result_type=result_type
    )


def update_id() -> str:
    """The current update's id (at most 64 characters, as our store keeps it)."""
    info = workflow.current_update_info()
    assert info is not None, "called outside an update handler"
    return info.id[:64]
