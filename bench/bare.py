"""Bare Temporal shapes: the same workflows, updates and activities, with no-op bodies.

Each bare workflow mirrors one of ours in what Temporal sees (activity count, update count,
waits), without the store, SMTP, templates, timers or search attributes. The sandbox imports
this module, so it does nothing at import time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import RetryPolicy

from bench.bare_storm import STORM_WORKFLOWS, StormActivities

__all__ = [
    "BARE_WORKFLOWS", "BareActivities", "BareEInvoice", "BareInvoice", "BareKey", "BareLinking",
    "BareRegistration",
]  # fmt: skip

TIMEOUT = timedelta(seconds=30)
# Ours waits on a timer until the first reminder, 3 days before a 14-day due date.
UNTIL_REMINDER = timedelta(days=11)
# Ours waits for the request, then for the confirmation, each at most as long as a link lives.
LINK_TTL = timedelta(hours=72)
# A registration waits for step 2 at most this long (EBOK_REGISTRATION_PASSWORD_TIMEOUT).
UNTIL_STEP2 = timedelta(hours=24)
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))


@dataclass(frozen=True)
class BareKey:
    key: str


class BareActivities:
    """No-op activities. ``send`` and ``notify`` tell the driver's :class:`~bench.inbox.BareInbox`
    (``host:port``) where ours mails the customer: like our SMTP adapter, over one kept
    connection, one message at a time, each acknowledged before the activity completes."""

    def __init__(self, inbox: str) -> None:
        host, _, port = inbox.rpartition(":")
        self._host, self._port = host, int(port)
        self._lock = asyncio.Lock()
        self._conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self.storm = StormActivities(self._tell)

    async def _tell(self, key: str) -> None:
        async with self._lock:
            for attempt in (1, 2):  # the driver may have dropped an idle connection
                if self._conn is None:
                    self._conn = await asyncio.open_connection(self._host, self._port)
                reader, writer = self._conn
                try:
                    writer.write(key.encode() + b"\n")
                    await writer.drain()
                    if await reader.readline():
                        return
                except ConnectionError:
                    if attempt == 2:
                        raise
                self._conn = None
                writer.close()
            raise ConnectionError("the bench inbox closed the connection")

    async def aclose(self) -> None:
        if self._conn is not None:
            self._conn[1].close()
            self._conn = None

    @activity.defn(name="bench.bare.send")
    async def send(self, req: BareKey) -> None:
        await self._tell(req.key)

    @activity.defn(name="bench.bare.redeem")
    async def redeem(self, req: BareKey) -> None:
        pass

    @activity.defn(name="bench.bare.welcome")
    async def welcome(self, req: BareKey) -> None:
        pass

    @activity.defn(name="bench.bare.match")
    async def match(self, req: BareKey) -> None:
        pass

    @activity.defn(name="bench.bare.check_contract")
    async def check_contract(self, req: BareKey) -> None:
        pass

    @activity.defn(name="bench.bare.record_link")
    async def record_link(self, req: BareKey) -> None:
        pass

    @activity.defn(name="bench.bare.notify")
    async def notify(self, req: BareKey) -> None:
        await self._tell(req.key)

    @activity.defn(name="bench.bare.record_invoice")
    async def record_invoice(self, req: BareKey) -> None:
        pass

    @activity.defn(name="bench.bare.deliver_invoice")
    async def deliver_invoice(self, req: BareKey) -> None:
        await self._tell(req.key)

    @activity.defn(name="bench.bare.check_einvoice")
    async def check_einvoice(self, req: BareKey) -> None:
        pass

    @activity.defn(name="bench.bare.send_einvoice_link")
    async def send_einvoice_link(self, req: BareKey) -> None:
        await self._tell(req.key)

    @activity.defn(name="bench.bare.record_consent")
    async def record_consent(self, req: BareKey) -> None:
        pass

    @activity.defn(name="bench.bare.notify_einvoice")
    async def notify_einvoice(self, req: BareKey) -> None:
        await self._tell(req.key)

    def all(self) -> list[Callable[..., Any]]:
        return [
            self.send, self.redeem, self.welcome,
            self.match, self.check_contract, self.record_link, self.notify,
            self.record_invoice, self.deliver_invoice,
            self.check_einvoice, self.send_einvoice_link, self.record_consent,
            self.notify_einvoice,
            *self.storm.all(),
        ]  # fmt: skip


@workflow.defn(name="BenchBareRegistration")
class BareRegistration:
    """Registration's happy path: update ``credentials_set`` answers at once and the run
    sends; update ``activate`` runs one activity; the run sends a welcome and ends. Both
    waits have the timers ours has: step 2's deadline and the link's expiry."""

    def __init__(self) -> None:
        self._step2 = False
        self._activated = False

    @workflow.run
    async def run(self, req: BareKey) -> str:
        await workflow.wait_condition(lambda: self._step2, timeout=UNTIL_STEP2)
        await self._call("bench.bare.send", req)
        await workflow.wait_condition(lambda: self._activated, timeout=LINK_TTL)
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


@workflow.defn(name="BenchBareLinking")
class BareLinking:
    """Partner linking's happy path for a partner with one PPE: update ``link`` runs one
    activity (match) and answers; the run checks the contract (one activity per PPE), then
    records the link and notifies the customer (two activities) and ends."""

    def __init__(self) -> None:
        self._matched = False

    @workflow.run
    async def run(self, req: BareKey) -> str:
        await workflow.wait_condition(lambda: self._matched)
        await self._call("bench.bare.check_contract", req)
        await self._call("bench.bare.record_link", req)
        await self._call("bench.bare.notify", req)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return "linked"

    @workflow.update
    async def link(self, req: BareKey) -> str:
        await self._call("bench.bare.match", req)
        self._matched = True
        return "checking"

    async def _call(self, name: str, req: BareKey) -> None:
        await workflow.execute_activity(
            name, req, start_to_close_timeout=TIMEOUT, retry_policy=RETRY
        )


@workflow.defn(name="BenchBareInvoice")
class BareInvoice:
    """An issued invoice up to its e-mail, then waiting for payment: two activities (record,
    deliver: tells the driver), then a condition with a timer, as ours waits until its first
    reminder. The ``payment`` signal ends it."""

    def __init__(self) -> None:
        self._paid = False

    @workflow.run
    async def run(self, req: BareKey) -> str:
        for name in ("bench.bare.record_invoice", "bench.bare.deliver_invoice"):
            await workflow.execute_activity(
                name, req, start_to_close_timeout=TIMEOUT, retry_policy=RETRY
            )
        try:
            await workflow.wait_condition(lambda: self._paid, timeout=UNTIL_REMINDER)
        except TimeoutError:
            return "reminded"
        return "paid"

    @workflow.signal
    def payment(self, req: BareKey) -> None:
        self._paid = True


@workflow.defn(name="BenchBareEInvoice")
class BareEInvoice:
    """E-invoice consent up to active: update ``request`` runs one activity (check) and
    answers; the run mails the link (one activity, tells the driver) and waits with a timer;
    update ``confirm`` runs one activity (record the consent); the run notifies (one activity,
    tells the driver) and waits, with no timer, for a ``withdraw`` signal. Ours waits for the
    request and for the confirmation each under a timer that the message cancels."""

    def __init__(self) -> None:
        self._requested = False
        self._confirmed = False
        self._withdrawn = False

    @workflow.run
    async def run(self, req: BareKey) -> str:
        try:
            await workflow.wait_condition(lambda: self._requested, timeout=LINK_TTL)
            await _call("bench.bare.send_einvoice_link", req)
            await workflow.wait_condition(lambda: self._confirmed, timeout=LINK_TTL)
        except TimeoutError:
            return "expired"
        await _call("bench.bare.notify_einvoice", req)
        await workflow.wait_condition(lambda: self._withdrawn)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return "withdrawn"

    @workflow.update
    async def request(self, req: BareKey) -> str:
        await _call("bench.bare.check_einvoice", req)
        self._requested = True
        return "awaiting_confirmation"

    @workflow.update
    async def confirm(self, req: BareKey) -> str:
        await _call("bench.bare.record_consent", req)
        self._confirmed = True
        return "active"

    @workflow.signal
    def withdraw(self, req: BareKey) -> None:
        self._withdrawn = True


async def _call(name: str, req: BareKey) -> None:
    await workflow.execute_activity(name, req, start_to_close_timeout=TIMEOUT, retry_policy=RETRY)


BARE_WORKFLOWS: list[type] = [
    BareRegistration, BareLinking, BareInvoice, BareEInvoice, *STORM_WORKFLOWS,
]  # fmt: skip
