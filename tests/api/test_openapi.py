"""The committed OpenAPI document is the running app's. When this fails, regenerate it:

python -m entrypoints.api.openapi > docs/openapi.json
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from ebok.store.db import Store
from entrypoints.api.app import create_app
from facade.client import EbokClient
from tests.api.conftest import Api, serve

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
REGENERATE = "python -m entrypoints.api.openapi > docs/openapi.json"


@pytest.mark.asyncio(loop_scope="session")
async def test_the_committed_document_is_the_served_one(api: Api) -> None:
    async with httpx.AsyncClient(base_url=api.url) as http:
        served = (await http.get("/openapi.json")).json()
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert served == committed, f"docs/openapi.json is stale; run: {REGENERATE}"


def test_every_v1_operation_asks_for_a_key_and_answers_problems() -> None:
    doc = json.loads(COMMITTED.read_text(encoding="utf-8"))
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            if not path.startswith("/v1/"):
                continue
            assert operation.get("security") == [{"HTTPBearer": []}], (method, path)
            for status in ("401", "403"):
                content = operation["responses"][status]["content"]
                assert list(content) == ["application/problem+json"], (method, path, status)


@pytest.mark.asyncio(loop_scope="session")
async def test_an_unexpected_error_is_a_bare_500(
    env: WorkflowEnvironment, store: Store, api: Api
) -> None:
    app: FastAPI = create_app(EbokClient(env.client, store, api.settings), api.settings)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("password=hunter2 at line 42")

    server, task, url = await serve(app)
    try:
        async with httpx.AsyncClient(base_url=url) as http:
            answer = await http.get("/boom")
    finally:
        server.should_exit = True
        await task
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json() == {
        "type": "https://ebok.example.pl/problems/internal-error",
        "title": "Internal error",
        "status": 500,
        "detail": "",
    }
    assert "hunter2" not in answer.text
