"""The remote codec server, over real HTTP, as the Temporal UI and CLI talk to it."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import aiohttp
import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from ebok.codec import ENCODING, KEY_ID_METADATA, AesGcmCodec
from entrypoints.codec_server import run_codec_server

UI = "http://localhost:8233"
TOKEN = "operators-token"
CODEC = AesGcmCodec({"k1": bytes(range(32))})


def _body(*payloads: Payload) -> dict[str, object]:
    return json_format.MessageToDict(Payloads(payloads=payloads))


def _payloads(body: dict[str, object]) -> list[Payload]:
    return list(json_format.ParseDict(body, Payloads()).payloads)


async def _serve(token: str | None) -> AsyncIterator[aiohttp.ClientSession]:
    """A real server on a free port, and a session whose base URL points at it."""
    runner = await run_codec_server(CODEC, "127.0.0.1", 0, UI, token=token)
    try:
        host, port = runner.addresses[0][:2]
        async with aiohttp.ClientSession(f"http://{host}:{port}") as session:
            yield session
    finally:
        await runner.cleanup()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async for session in _serve(None):
        yield session


@pytest.fixture
async def http_with_token() -> AsyncIterator[aiohttp.ClientSession]:
    async for session in _serve(TOKEN):
        yield session


async def test_encode_then_decode_roundtrip(http: aiohttp.ClientSession) -> None:
    original = Payload(metadata={"encoding": b"json/plain"}, data=b'{"pesel":"85010112345"}')
    async with http.post("/encode", json=_body(original), headers={"X-Namespace": "x"}) as resp:
        assert resp.status == 200
        assert resp.headers["Access-Control-Allow-Origin"] == UI
        encoded = await resp.json()
    [sealed] = _payloads(encoded)
    assert sealed.metadata["encoding"] == ENCODING
    assert sealed.metadata[KEY_ID_METADATA] == b"k1"
    assert b"85010112345" not in base64.b64decode(encoded["payloads"][0]["data"])

    async with http.post("/decode", json=encoded) as resp:
        assert resp.status == 200
        assert _payloads(await resp.json()) == [original]


async def test_decode_passes_unencrypted_payloads_through(http: aiohttp.ClientSession) -> None:
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b"1")
    async with http.post("/decode", json=_body(plain)) as resp:
        assert _payloads(await resp.json()) == [plain]


async def test_cors_preflight_allows_the_ui(http: aiohttp.ClientSession) -> None:
    headers = {
        "Origin": UI,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-namespace",
    }
    async with http.options("/decode", headers=headers) as resp:
        assert resp.status == 204
        assert resp.headers["Access-Control-Allow-Origin"] == UI
        assert "POST" in resp.headers["Access-Control-Allow-Methods"]
        allowed = resp.headers["Access-Control-Allow-Headers"].split(",")
        assert {"content-type", "x-namespace"} <= set(allowed)


@pytest.mark.parametrize("body", ['{"payloads": 3}', "[]", "not json"])
async def test_malformed_body_is_a_400(http: aiohttp.ClientSession, body: str) -> None:
    async with http.post("/decode", data=body) as resp:
        assert resp.status == 400
        assert resp.headers["Access-Control-Allow-Origin"] == UI


async def test_undecryptable_payload_is_a_clear_error(http: aiohttp.ClientSession) -> None:
    foreign = Payload(metadata={"encoding": ENCODING, KEY_ID_METADATA: b"gone"}, data=b"x" * 40)
    async with http.post("/decode", json=_body(foreign)) as resp:
        assert resp.status == 422
        assert "not in the key ring" in (await resp.json())["error"]


async def test_token_is_required_when_configured(
    http_with_token: aiohttp.ClientSession,
) -> None:
    body = _body(Payload(data=b"1"))
    async with http_with_token.post("/encode", json=body) as resp:
        assert resp.status == 401
    bad = {"Authorization": "Bearer wrong"}
    async with http_with_token.post("/encode", json=body, headers=bad) as resp:
        assert resp.status == 401
    good = {"Authorization": f"Bearer {TOKEN}"}
    async with http_with_token.post("/encode", json=body, headers=good) as resp:
        assert resp.status == 200
    # Preflights carry no credentials and must still succeed.
    async with http_with_token.options("/encode", headers={"Origin": UI}) as resp:
        assert resp.status == 204
