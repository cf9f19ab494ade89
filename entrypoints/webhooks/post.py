"""The post's letter webhook: ``POST /post/letters`` → the invoice whose notice it is, by signal.

The postal adapter verifies the signature (constant time) and parses the body; nothing
unverified reaches a workflow (401 with the reason). A letter that is not ours is
acknowledged (202) and dropped, so the provider does not resend it for days.
"""

from __future__ import annotations

from aiohttp import web

from adapters.post.base import NotificationRejected
from facade.letters import LetterFacade

__all__ = ["MAX_BODY", "add_letter_route"]

MAX_BODY = 64 * 1024


def add_letter_route(app: web.Application, ebok: LetterFacade) -> None:
    """Serve ``POST /post/letters`` on ``app`` (beside the other webhook receivers)."""

    async def letter(request: web.Request) -> web.Response:
        body = await request.content.read(MAX_BODY + 1)
        if len(body) > MAX_BODY:
            return web.json_response({"message": "body too large"}, status=413)
        try:
            told = await ebok.letter_notification(body, request.headers)
        except NotificationRejected as e:
            return web.json_response({"message": e.reason}, status=401)
        status = 200 if told.outcome == "signalled" else 202
        return web.json_response(
            {"outcome": told.outcome, "invoice": told.invoice_number}, status=status
        )

    app.router.add_post("/post/letters", letter)
