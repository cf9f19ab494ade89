"""The payment webhook receiver: ``POST /payments/{adapter}/notify``.

The provider's notification is handed, byte for byte, to the payments adapter, which checks its
signature before anything is believed; only then is the invoice's workflow told which payment
to look at. Answers: 200 when the notification was applied, already applied, carries nothing
to apply, or was listed for staff to book by hand (a believed notification of an order not made
under our key, or for a closed invoice: PayU retries anything else for days, and a retry would
change nothing); 400 with the reason when it is not believed; 404 for an adapter that is not the
configured one; 503 when we cannot take it now (the provider retries).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from aiohttp import web

from adapters.payments.base import NotificationRejected, PaymentError
from ebok.models.balance import NotificationOutcome

__all__ = ["NotificationSink", "build_app", "run_webhooks"]

log = logging.getLogger(__name__)
_MAX_BODY = 64 * 1024  # a PayU order notification is a few kilobytes


class NotificationSink(Protocol):
    async def payment_notification(
        self, body: bytes, headers: dict[str, str]
    ) -> NotificationOutcome: ...


def build_app(sink: NotificationSink, adapter: str) -> web.Application:
    async def notify(request: web.Request) -> web.Response:
        if request.match_info["adapter"] != adapter:
            return web.json_response({"error": "no such payments adapter"}, status=404)
        body = await request.read()
        try:
            result = await sink.payment_notification(body, dict(request.headers))
        except NotificationRejected as e:
            log.warning("payment notification rejected: %s", e.reason)
            return web.json_response({"error": e.reason}, status=400)
        except PaymentError as e:
            log.warning("payment notification not taken now: %s", type(e).__name__)
            return web.json_response({"error": "try again later"}, status=503)
        return web.json_response(result.model_dump(mode="json"))

    app = web.Application(client_max_size=_MAX_BODY)
    app.router.add_post("/payments/{adapter}/notify", notify)
    return app


async def run_webhooks(
    sink: NotificationSink,
    adapter: str,
    host: str,
    port: int,
    also: Callable[[web.Application], None] | None = None,
) -> web.AppRunner:
    """Start serving on ``host:port`` (0: a free port, see ``runner.addresses``); ``also``
    adds more routes (the dev mode's DSO status webhook). The caller owns the runner and must
    ``await runner.cleanup()``."""
    app = build_app(sink, adapter)
    if also is not None:
        also(app)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner
