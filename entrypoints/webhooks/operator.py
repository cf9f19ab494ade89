"""The DSO's status webhook: ``POST /operator/status`` → the incident following it, by signal.

The operator adapter verifies the signature (constant time) and parses the body; nothing
unverified reaches a workflow. A status of an incident we do not follow is acknowledged and
dropped (the DSO need not resend it; our polling would find any change anyway).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from aiohttp import web

from activities.outage_operator import operator_status
from adapters.operator.base import IncidentStatus, NotificationRejected
from ebok.errors import NotFound
from facade.outages import OutageFacade

__all__ = ["MAX_BODY", "Verify", "add_status_route", "make_app", "run_webhook_server"]

Verify = Callable[[bytes, Mapping[str, str]], IncidentStatus]
MAX_BODY = 64 * 1024  # a status is a few hundred bytes


def make_app(verify: Verify, ebok: OutageFacade) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)
    add_status_route(app, verify, ebok)
    return app


def add_status_route(app: web.Application, verify: Verify, ebok: OutageFacade) -> None:
    """Serve ``POST /operator/status`` on ``app`` (the dev mode's one webhook receiver)."""

    async def status(request: web.Request) -> web.Response:
        body = await request.read()
        try:
            verified = verify(body, request.headers)
        except NotificationRejected as e:
            return web.json_response({"message": str(e)}, status=401)
        try:
            incident_id = await ebok.operator_status_changed(operator_status(verified))
        except NotFound:
            return web.json_response({"followed": False}, status=202)
        return web.json_response({"followed": True, "incident": incident_id})

    app.router.add_post("/operator/status", status)


async def run_webhook_server(
    verify: Verify, ebok: OutageFacade, host: str, port: int
) -> web.AppRunner:
    """Started; the caller stops it with ``await runner.cleanup()``."""
    runner = web.AppRunner(make_app(verify, ebok))
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
