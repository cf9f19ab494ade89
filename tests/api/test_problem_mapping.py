"""Each refusal of the facade, and Temporal out of reach, answers with its problem status."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from ebok.errors import InvalidInput, LimitReached, NotFound, RateLimited, Unavailable, WrongState
from ebok.store.db import Store
from entrypoints.api.app import create_app
from facade.client import EbokClient
from tests.api.conftest import Api, serve

pytestmark = pytest.mark.asyncio(loop_scope="session")

WAIT = timedelta(seconds=90)


def _soon() -> Exception:
    return RateLimited("resend: cooldown", datetime.now(UTC) + WAIT)


# case → (what the route raises, made when it raises; the status; the problem type's slug)
CASES: dict[str, tuple[Callable[[], Exception], int, str]] = {
    "invalid": (
        lambda: InvalidInput({"login": "is taken", "email": "is odd"}),
        422,
        "invalid-input",
    ),
    "missing": (lambda: NotFound("no such registration"), 404, "not-found"),
    "late": (lambda: WrongState("registration is not waiting for step 2"), 409, "wrong-state"),
    "soon": (_soon, 429, "rate-limited"),
    "spent": (lambda: LimitReached("no resends left"), 409, "limit-reached"),
    "down": (lambda: Unavailable("payment provider unavailable"), 503, "unavailable"),
    "temporal": (
        lambda: RPCError("refused", RPCStatusCode.UNAVAILABLE, b""),
        503,
        "unavailable",
    ),
}


@pytest.fixture
def raising_app(api: Api, env: WorkflowEnvironment, store: Store) -> FastAPI:
    app = create_app(EbokClient(env.client, store, api.settings), api.settings)

    @app.get("/raise/{case}")
    async def raising(case: str) -> None:
        raise CASES[case][0]()

    return app


@pytest.mark.parametrize("case", sorted(CASES))
async def test_each_refusal_has_its_status(raising_app: FastAPI, case: str) -> None:
    server, task, url = await serve(raising_app)
    try:
        async with httpx.AsyncClient(base_url=url) as http:
            answer = await http.get(f"/raise/{case}")
    finally:
        server.should_exit = True
        await task
    _, status, slug = CASES[case]
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert body["status"] == status and body["type"].endswith("/" + slug)
    if case == "invalid":
        assert body["errors"] == [
            {"field": "login", "message": "is taken"},
            {"field": "email", "message": "is odd"},
        ]
    if case == "soon":
        assert 80 <= int(answer.headers["retry-after"]) <= 90
        left = datetime.fromisoformat(body["retry_at"]) - datetime.now(UTC)
        assert timedelta(seconds=80) < left <= WAIT
    if case == "temporal":
        assert "refused" not in answer.text
