"""Both postal adapters against the port's contract; the http one against a local provider
(tests/adapters/post/post_server.py) for its wire: auth, keys, errors, malformed answers."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from adapters import registry
from adapters.post.base import (
    PostProtocolError,
    PostRejected,
    PostUnavailable,
)
from adapters.post.http import LETTERS_PATH, HttpPost
from adapters.post.sandbox import SandboxPost, SimulationError
from adapters.post.testing import POSTED_ON, PostalServiceContract, Postman, sample_letter
from ebok.settings import Settings
from tests.adapters.post.post_server import PostServer

TOKEN, SECRET = "post-test-token", "post-webhook-secret"


def postman_of(sandbox: SandboxPost) -> Postman:
    async def act(event: str, tracking_id: str, day: date) -> tuple[bytes, dict[str, str]]:
        method = {
            "deliver": sandbox.deliver,
            "refuse": sandbox.refuse,
            "awizo": sandbox.awizo,
            "collect": sandbox.collect,
            "return": sandbox.return_unclaimed,
        }[event]
        return method(tracking_id, day)

    return act


class TestSandboxPostContract(PostalServiceContract):
    @pytest.fixture
    def sandbox(self, tmp_path: Path) -> SandboxPost:
        return SandboxPost(tmp_path / "post")

    @pytest.fixture
    def post(self, sandbox: SandboxPost) -> SandboxPost:
        return sandbox

    @pytest.fixture
    def postman(self, sandbox: SandboxPost) -> Postman:
        return postman_of(sandbox)


@pytest_asyncio.fixture
async def server(tmp_path: Path) -> AsyncIterator[PostServer]:
    async with PostServer(tmp_path / "provider", token=TOKEN, secret=SECRET) as s:
        yield s


@pytest_asyncio.fixture
async def client(server: PostServer) -> AsyncIterator[HttpPost]:
    post = HttpPost(server.url, token=TOKEN, webhook_secret=SECRET, timeout=timedelta(seconds=2))
    yield post
    await post.aclose()


class TestHttpPostContract(PostalServiceContract):
    @pytest.fixture
    def post(self, client: HttpPost) -> HttpPost:
        return client

    @pytest.fixture
    def postman(self, server: PostServer) -> Postman:
        return postman_of(server.postman)


async def test_send_carries_token_key_and_document(server: PostServer, client: HttpPost) -> None:
    letter = sample_letter()
    fate = await client.send_letter(letter)
    seen = server.seen[-1]
    assert seen.method == "POST" and seen.path == LETTERS_PATH
    assert seen.headers["Authorization"] == f"Bearer {TOKEN}"
    assert seen.headers["Idempotency-Key"] == letter.key
    body = seen.json()
    assert base64.b64decode(body["document"]["content_base64"]) == letter.document
    assert body["recipient"]["city"] == "Łódź" and body["service"] == "registered"
    assert fate.tracking_id == server.postman.letters()[0].tracking_id
    assert server.postman.document(fate.tracking_id) == letter.document


async def test_status_by_polling(server: PostServer, client: HttpPost) -> None:
    fate = await client.send_letter(sample_letter())
    server.postman.awizo(fate.tracking_id, POSTED_ON + timedelta(days=1))
    polled = await client.letter_status(fate.tracking_id)
    assert polled.state.value == "awaiting_collection"
    assert polled.notice_left_on == POSTED_ON + timedelta(days=1)


async def test_wrong_token_is_rejected(server: PostServer) -> None:
    post = HttpPost(server.url, token="wrong")
    with pytest.raises(PostRejected) as e:
        await post.send_letter(sample_letter())
    await post.aclose()
    assert e.value.status_code == 401 and "bad token" in str(e.value)


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_transient_statuses_are_unavailable(
    server: PostServer, client: HttpPost, status: int
) -> None:
    letter = sample_letter()
    server.fail_next(1, status)
    with pytest.raises(PostUnavailable):
        await client.send_letter(letter)
    assert (await client.send_letter(letter)).key == letter.key  # then real answers


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[]",
        '{"key": "x", "tracking_id": "T", "state": "lost", "posted_on": "2026-03-02"}',
        '{"key": "x", "tracking_id": "T", "state": "delivered", "posted_on": "2026-03-02"}',
        '{"key": "x", "tracking_id": "T", "state": "posted", "posted_on": "2.3.2026"}',
    ],
)
async def test_malformed_answers_are_protocol_errors(
    server: PostServer, client: HttpPost, body: str
) -> None:
    server.respond_next(200, body)
    with pytest.raises(PostProtocolError):
        await client.letter_status("T")


async def test_answer_about_another_letter_is_a_protocol_error(
    server: PostServer, client: HttpPost
) -> None:
    fate = await client.send_letter(sample_letter())
    server.respond_next(
        200,
        f'{{"key": "k", "tracking_id": "{fate.tracking_id}X", '
        '"state": "posted", "posted_on": "2026-03-02"}',
    )
    with pytest.raises(PostProtocolError):
        await client.letter_status(fate.tracking_id)


async def test_connection_refused_is_unavailable() -> None:
    post = HttpPost("http://127.0.0.1:9", timeout=timedelta(seconds=1))
    with pytest.raises(PostUnavailable):
        await post.letter_status("T")
    await post.aclose()


def test_sandbox_refuses_events_out_of_order(tmp_path: Path) -> None:
    sandbox = SandboxPost(tmp_path)
    import asyncio

    fate = asyncio.run(sandbox.send_letter(sample_letter()))
    with pytest.raises(SimulationError):
        sandbox.collect(fate.tracking_id, POSTED_ON)  # no awizo yet
    with pytest.raises(SimulationError):
        sandbox.deliver(fate.tracking_id, POSTED_ON - timedelta(days=1))  # before posting
    left = POSTED_ON + timedelta(days=1)
    sandbox.awizo(fate.tracking_id, left)
    with pytest.raises(SimulationError):  # the collection period still runs on its last day
        sandbox.return_unclaimed(fate.tracking_id, left + timedelta(days=14))
    sandbox.return_unclaimed(fate.tracking_id)
    with pytest.raises(SimulationError):
        sandbox.deliver(fate.tracking_id, left + timedelta(days=20))  # final


def test_registry_and_settings(tmp_path: Path) -> None:
    assert {"sandbox", "http"} <= set(registry.names("post"))
    settings = Settings(_env_file=None, post_sandbox_dir=tmp_path, invoice_seller_nip="1234563218")
    assert isinstance(registry.build("post", "sandbox", settings), SandboxPost)
    with pytest.raises(ValueError, match="EBOK_POST_URL"):
        registry.build("post", "http", settings)
    built = registry.build(
        "post",
        "http",
        settings.model_copy(update={"post_url": "https://post.example/api"}),
    )
    assert isinstance(built, HttpPost) and built.base == "https://post.example/api"
