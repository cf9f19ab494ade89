"""Bare Temporal shapes: the same workflows, updates and activities, with no-op bodies.

Each bare workflow mirrors one of ours in what Temporal sees (activity count, update count,
waits), without the store, SMTP, templates or search attributes. Each is written as the SDK
advises and as ours are: in a module of its own, importing what it shares passed through, so
the sandbox runs again for a new workflow only that workflow's module, not every bare shape.
This module holds the activities and the list the bare worker registers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from temporalio import activity

from bench.bare_einvoice import BareEInvoice
from bench.bare_invoice import BareInvoice
from bench.bare_linking import BareLinking
from bench.bare_registration import BareRegistration
from bench.bare_shapes import BareKey
from bench.bare_storm import StormActivities
from bench.bare_storm_incident import BareStormIncident
from bench.bare_storm_report import BareStormReport

__all__ = [
    "BARE_WORKFLOWS",
    "BareActivities",
    "BareEInvoice",
    "BareInvoice",
    "BareKey",
    "BareLinking",
    "BareRegistration",
]


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

    @activity.defn(name="bench.bare.apply_payment")
    async def apply_payment(self, req: BareKey) -> None:
        pass

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
        registration = [self.send, self.redeem, self.welcome]
        linking = [self.match, self.check_contract, self.record_link, self.notify]
        invoice = [self.record_invoice, self.deliver_invoice, self.apply_payment]
        einvoice = [
            self.check_einvoice,
            self.send_einvoice_link,
            self.record_consent,
            self.notify_einvoice,
        ]
        return [*registration, *linking, *invoice, *einvoice, *self.storm.all()]


BARE_WORKFLOWS: list[type] = [
    BareRegistration,
    BareLinking,
    BareInvoice,
    BareEInvoice,
    BareStormReport,
    BareStormIncident,
]
