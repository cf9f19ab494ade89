"""Remote codec endpoint for the Temporal Web UI and the ``temporal`` CLI.

Operators see workflow inputs and results in clear text only through this server: the UI
(``codecEndpoint``) or the CLI (``--codec-endpoint``) POSTs payloads in proto3 JSON to
``/decode`` or ``/encode`` and gets the same shape back. Keys never leave this process.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.converter import PayloadCodec

from ebok.codec import PayloadDecryptionError

__all__ = ["build_app", "run_codec_server"]

# Histories can carry several payloads of up to 2 MiB each per request.
_MAX_BODY = 8 * 1024 * 1024

_Transform = Callable[[Sequence[Payload]], Awaitable[list[Payload]]]


def _cors_headers(origin: str) -> dict[str, str]:
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": "POST",
        # The UI sends X-Namespace always, Authorization when configured with a token.
        "Access-Control-Allow-Headers": "content-type,x-namespace,authorization",
        # For a UI set to include cross-origin credentials (cookies) in codec calls.
        "Access-Control-Allow-Credentials": "true",
    }


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def build_app(
    codec: PayloadCodec, cors_origin: str, *, token: str | None = None
) -> web.Application:
    """The aiohttp app; ``token``, if given, is required as ``Authorization: Bearer <token>``."""
    expected = f"Bearer {token}".encode() if token else None

    def handler(transform: _Transform) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handle(request: web.Request) -> web.Response:
            if expected is not None:
                given = request.headers.get("Authorization", "").encode()
                # Constant-time: the token is the only thing guarding decrypted payloads.
                if not hmac.compare_digest(given, expected):
                    return _error(401, "missing or wrong bearer token")
            try:
                body = await request.json()
                if not isinstance(body, dict):
                    raise ValueError("body must be a JSON object")
                payloads = json_format.ParseDict(body, Payloads())
            except (ValueError, json_format.ParseError) as e:
                return _error(400, f"expected {{'payloads': [...]}} in proto3 JSON: {e}")
            try:
                result = await transform(payloads.payloads)
            except PayloadDecryptionError as e:
                return _error(422, str(e))
            return web.json_response(json_format.MessageToDict(Payloads(payloads=result)))

        return handle

    async def preflight(request: web.Request) -> web.Response:
        # Browsers send preflights without credentials, so no token check here.
        return web.Response(status=204)

    async def add_cors(request: web.Request, response: web.StreamResponse) -> None:
        # On every response, errors included, so the UI can show the error to the operator.
        response.headers.update(_cors_headers(cors_origin))

    app = web.Application(client_max_size=_MAX_BODY)
    app.on_response_prepare.append(add_cors)
    app.router.add_post("/encode", handler(codec.encode))
    app.router.add_post("/decode", handler(codec.decode))
    app.router.add_route("OPTIONS", "/encode", preflight)
    app.router.add_route("OPTIONS", "/decode", preflight)
    return app


async def run_codec_server(
    codec: PayloadCodec, host: str, port: int, cors_origin: str, *, token: str | None = None
) -> web.AppRunner:
    """Start serving on ``host:port`` (port 0 picks a free one, see ``runner.addresses``).

    The caller owns the runner and must ``await runner.cleanup()``.
    """
    runner = web.AppRunner(build_app(codec, cors_origin, token=token))
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner
