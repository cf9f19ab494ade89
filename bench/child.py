"""Worker child processes: started like production starts them, measured from the outside.

Our side runs ``python worker.py`` with ``EBOK_*`` variables, exactly as a deployment does;
the bare side runs ``python -m bench.bare_worker``. Each child runs in an empty temporary
folder (so no ``.ebok-dev/dev.env`` of a developer is read) and is stopped with SIGTERM, which
both handle by draining the worker; it is killed if it does not end in time.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import tempfile
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from ebok.settings import Settings

__all__ = ["REPO", "WORKER_PY", "Child", "child_process", "clean_env", "worker_env"]

log = logging.getLogger("bench")

REPO = Path(__file__).resolve().parents[1]
WORKER_PY = REPO / "worker.py"
READY = "worker on task queue"  # both workers log this once their pollers are started
START_TIMEOUT = 120.0  # importing and connecting; slow on a loaded machine
STOP_TIMEOUT = 30.0  # graceful shutdown lets running activities finish
TAIL_LINES = 40


@dataclass
class Child:
    pid: int
    name: str
    tail: deque[str]  # its last output lines, for a failure message

    def output(self) -> str:
        return "\n".join(self.tail)


def clean_env() -> dict[str, str]:
    """This process's environment without ``EBOK_*``: a child sees only what the bench sets,
    whatever the shell running the bench has exported (a codec key, another database)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("EBOK_")}


def worker_env(settings: Settings) -> dict[str, str]:
    """The ``EBOK_*`` variables that make ``worker.py`` match the facade's ``settings``."""
    values: dict[str, str | None] = {
        "TEMPORAL_ADDRESS": settings.temporal_address,
        "TEMPORAL_NAMESPACE": settings.temporal_namespace,
        "TASK_QUEUE": settings.task_queue,
        "WORKER_MAX_CACHED_WORKFLOWS": str(settings.worker_max_cached_workflows),
        "DATABASE_URL": settings.database_url,
        "EMAIL_ADAPTER": settings.email_adapter,
        "SMTP_HOST": settings.smtp_host,
        "SMTP_PORT": str(settings.smtp_port),
        "SMTP_SECURITY": settings.smtp_security.value,
        "TOKEN_KEY": settings.token_key.get_secret_value() if settings.token_key else None,
        "MAIL_FROM": settings.mail_from,
        "INVOICE_SELLER_NIP": settings.invoice_seller_nip,
        "PUBLIC_URL": str(settings.public_url),
        "OPERATOR_ADAPTER": settings.operator_adapter,
        "OPERATOR_REGISTRY": str(settings.operator_registry)
        if settings.operator_registry
        else None,
        # The sandbox payment provider's ledger, shared with the bench (which pays there).
        "PAYMENTS_SANDBOX_DIR": str(settings.payments_sandbox_dir.resolve()),
        "PAYMENTS_SANDBOX_KEY": settings.payments_sandbox_key.get_secret_value()
        if settings.payments_sandbox_key
        else None,
    }
    env = clean_env()
    env.update({f"EBOK_{k}": v for k, v in values.items() if v is not None})
    return env


@asynccontextmanager
async def child_process(
    name: str, argv: list[str], env: Mapping[str, str], ready: str = READY
) -> AsyncIterator[Child]:
    """Start ``argv``, wait until a line of its output contains ``ready``, stop it at exit."""
    with tempfile.TemporaryDirectory(prefix="ebok-bench-worker-") as cwd:
        began = time.perf_counter()
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env=dict(env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            limit=1 << 20,  # a long traceback line must not break the reader
        )
        child = Child(pid=proc.pid, name=name, tail=deque(maxlen=TAIL_LINES))
        is_ready = asyncio.Event()

        async def drain() -> None:
            # Read to the end: a child blocked on a full pipe would stall the benchmark.
            assert proc.stdout is not None
            async for raw in proc.stdout:
                line = raw.decode(errors="replace").rstrip()
                child.tail.append(line)
                if ready in line:
                    is_ready.set()

        reader = asyncio.create_task(drain())
        try:
            await _until_ready(child, proc, is_ready)
            log.info("%s: pid %d ready in %.1f s", name, proc.pid, time.perf_counter() - began)
            yield child
            if proc.returncode is not None:
                raise RuntimeError(
                    f"{name} exited during the run with {proc.returncode}:\n{child.output()}"
                )
        finally:
            await _stop(child, proc)
            with suppress(asyncio.CancelledError):
                await reader


async def _until_ready(
    child: Child, proc: asyncio.subprocess.Process, is_ready: asyncio.Event
) -> None:
    ready = asyncio.create_task(is_ready.wait())
    exited = asyncio.create_task(proc.wait())
    try:
        done, _ = await asyncio.wait(
            (ready, exited), timeout=START_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        for task in (ready, exited):
            task.cancel()
    if ready not in done:
        why = f"exited with {proc.returncode}" if exited in done else "did not become ready"
        raise RuntimeError(f"{child.name} {why}; its last output:\n{child.output()}")


async def _stop(child: Child, proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), STOP_TIMEOUT)
    except TimeoutError:
        log.warning("%s: no exit %.0f s after SIGTERM; killing it", child.name, STOP_TIMEOUT)
        proc.kill()
        await proc.wait()
    if proc.returncode not in (0, -signal.SIGTERM):
        log.warning("%s exited with %s:\n%s", child.name, proc.returncode, child.output())
