"""``ebok api`` serves the app (EBOK_API_BIND); readiness says what is unreachable."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import sysconfig

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from ebok.store.db import Store
from entrypoints.api.app import create_app
from facade.client import EbokClient
from tests.api.conftest import Api, serve

pytestmark = pytest.mark.asyncio(loop_scope="session")

_RUNNING = re.compile(rb"HTTP API on (http://\S+)")
STARTUP_LIMIT = 60.0  # seconds: the command connects to Temporal and the store first


async def test_the_command_serves_health_readiness_and_keys(
    api: Api, env: WorkflowEnvironment
) -> None:
    ebok = shutil.which("ebok", path=sysconfig.get_path("scripts")) or shutil.which("ebok")
    assert ebok, "the ebok script is not installed (pip install -e .)"
    variables = {k: v for k, v in os.environ.items() if not k.startswith("EBOK_")}
    variables |= {
        "EBOK_TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "EBOK_DATABASE_URL": api.settings.database_url,
        "EBOK_API_BIND": "127.0.0.1:0",  # a free port; the log line says which
        "EBOK_INVOICE_SELLER_NIP": api.settings.invoice_seller_nip or "",
    }
    child = await asyncio.create_subprocess_exec(
        ebok, "api", env=variables, stderr=asyncio.subprocess.PIPE, cwd=os.path.dirname(ebok)
    )
    assert child.stderr is not None
    try:

        async def address() -> str:
            assert child.stderr is not None
            async for line in child.stderr:
                if found := _RUNNING.search(line):
                    return found.group(1).decode()
            raise AssertionError("ebok api ended before serving")

        url = await asyncio.wait_for(address(), STARTUP_LIMIT)
        async with httpx.AsyncClient(base_url=url) as http:
            assert (await http.get("/healthz")).json() == {"status": "ok"}
            assert (await http.get("/readyz")).json() == {"status": "ready"}
            anonymous = await http.post("/v1/registrations", json={})
            assert anonymous.status_code == 401
            key = await api.key("registration")
            answer = await http.post(
                "/v1/registrations", json={}, headers={"Authorization": f"Bearer {key}"}
            )
            assert answer.status_code == 422
    finally:
        if child.returncode is None:
            child.send_signal(signal.SIGTERM)
        rest = await asyncio.wait_for(child.stderr.read(), 30)
        code = await asyncio.wait_for(child.wait(), 30)
    # A graceful stop: uvicorn finishes, the command closes its connections and exits.
    assert b"Finished server process" in rest
    assert code == 0


async def test_readiness_names_an_unreachable_database(api: Api, env: WorkflowEnvironment) -> None:
    nowhere = Store.from_url("postgresql+psycopg://postgres@127.0.0.1:1/none")
    app = create_app(EbokClient(env.client, nowhere, api.settings), api.settings)
    server, task, url = await serve(app)
    try:
        async with httpx.AsyncClient(base_url=url) as http:
            health = await http.get("/healthz")
            ready = await http.get("/readyz")
    finally:
        server.should_exit = True
        await task
        await nowhere.aclose()
    assert health.status_code == 200
    assert ready.status_code == 503
    assert ready.headers["content-type"] == "application/problem+json"
    assert ready.json()["detail"] == "unreachable: the database"
