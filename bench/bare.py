"""Bare Temporal shapes: the same workflows, updates and activities, with no-op bodies.

Each bare workflow mirrors one of ours in what Temporal sees (activity count, update count,
waits), without the store, SMTP, templates, timers or search attributes. The sandbox imports
this module, so it does nothing at import time.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy

__all__ = ["BareActivities", "BareKey", "BareRegistration"]

TIMEOUT = timedelta(seconds=30)
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))


@dataclass(frozen=True)
class BareKey:
    key: str


class BareActivities:
    """No-op activities. ``send`` resolves an in-process future where ours mails a link, so
    the driver waits for the "mail" exactly as it waits for the SMTP server on our side."""

    def __init__(self) -> None:
        self.inbox: dict[str, asyncio.Future[None]] = {}

    def expect(self, key: str) -> asyncio.Future[None]:
        arrived: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.inbox[key] = arrived
        return arrived

    @activity.defn(name="bench.bare.send")
    async def send(self, req: BareKey) -> None:
        arrived = self.inbox.pop(req.key, None)
        if arrived is not None and not arrived.done():
            arrived.set_result(None)

    @activity.defn(name="bench.bare.redeem")
    async def redeem(self, req: BareKey) -> None:
        pass

    @activity.defn(name="bench.bare.welcome")
    async def welcome(self, req: BareKey) -> None:
        pass


@workflow.defn(name="BenchBareRegistration")
class BareRegistration:
    """Registration's happy path: update ``credentials_set`` answers at once and the run
    sends; update ``activate`` runs one activity; the run sends a welcome and ends."""

    def __init__(self) -> None:
        self._step2 = False
        self._activated = False

    @workflow.run
    async def run(self, req: BareKey) -> str:
        await workflow.wait_condition(lambda: self._step2)
        await self._call("bench.bare.send", req)
        await workflow.wait_condition(lambda: self._activated)
        await self._call("bench.bare.welcome", req)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return "activated"

    @workflow.update
    async def credentials_set(self, req: BareKey) -> str:
        self._step2 = True
        return "pending"

    @workflow.update
    async def activate(self, req: BareKey) -> str:
        await self._call("bench.bare.redeem", req)
        self._activated = True
        return "activated"

    async def _call(self, name: str, req: BareKey) -> None:
        await workflow.execute_activity(
            name, req, start_to_close_timeout=TIMEOUT, retry_policy=RETRY
        )
