"""The HTTP API served by uvicorn on a real port, in the test's event loop, over the session's
Temporal dev server, the store (SQLite and PostgreSQL) and the test SMTP server."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest_asyncio
import uvicorn
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from ebok.settings import Settings
from ebok.store.db import Store
from entrypoints.api.app import create_app
from entrypoints.devsmtp import DevSmtpServer
from facade.api_keys import SCOPES, ApiKeys
from facade.client import EbokClient
from tests.conftest import make_settings

# Long enough for any test, short enough that a workflow a test leaves behind ends by itself.
WORKFLOW_LIMIT = timedelta(minutes=15)


@dataclass
class Api:
    url: str
    keys: ApiKeys
    settings: Settings

    async def key(self, *scopes: str, service: str = "") -> str:
        """A new key of a service of its own with ``scopes`` (all of them if none given)."""
        name = service or f"svc-{uuid.uuid4().hex[:12]}"
        made = await self.keys.create(name, list(scopes or SCOPES))
        return made.secret

    async def client(self, *scopes: str) -> httpx.AsyncClient:
        key = await self.key(*scopes)
        return httpx.AsyncClient(
            base_url=self.url, headers={"Authorization": f"Bearer {key}"}, timeout=30
        )


@pytest_asyncio.fixture(loop_scope="session")
async def api_settings(db_url: str, smtpd: DevSmtpServer) -> Settings:
    return make_settings(db_url, smtpd.port, execution_timeout=WORKFLOW_LIMIT)


async def serve(app: FastAPI) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    """Serve ``app`` on a free port of 127.0.0.1. The socket listens before the server starts,
    so a request sent at once waits in the backlog instead of being refused."""
    # proto given: asyncio sets TCP_NODELAY only on sockets that say IPPROTO_TCP, and
    # without it each answer (headers, then body) waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_config=None, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    return server, task, f"http://127.0.0.1:{port}"


@pytest_asyncio.fixture(loop_scope="session")
async def api(env: WorkflowEnvironment, store: Store, api_settings: Settings) -> AsyncIterator[Api]:
    ebok = EbokClient(env.client, store, api_settings)
    server, task, url = await serve(create_app(ebok, api_settings))
    try:
        yield Api(url=url, keys=ApiKeys(store), settings=api_settings)
    finally:
        server.should_exit = True
        await task
