"""``python worker.py`` as a child process that a test can start, kill -9 and start again."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import IO

from ebok.settings import DEMO_SELLER_NIP
from tests.conftest import TEST_TOKEN_KEY

__all__ = ["REPO", "WorkerProcess", "worker_env"]

REPO = Path(__file__).resolve().parents[2]
READY = b"worker on task queue"  # logged by worker.py once the worker polls


def worker_env(
    *, temporal_address: str, database_url: str, task_queue: str, smtp_port: int
) -> dict[str, str]:
    """The process environment of a worker: ours, minus any EBOK_* of the caller's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EBOK_")}
    env.update(
        EBOK_TEMPORAL_ADDRESS=temporal_address,
        EBOK_DATABASE_URL=database_url,
        EBOK_TASK_QUEUE=task_queue,
        EBOK_SMTP_HOST="127.0.0.1",
        EBOK_SMTP_PORT=str(smtp_port),
        EBOK_SMTP_SECURITY="none",
        EBOK_MAIL_FROM="eBOK <no-reply@ebok.example.pl>",
        EBOK_PUBLIC_URL="https://ebok.test/",
        EBOK_EXECUTION_TIMEOUT="PT10M",
        EBOK_TOKEN_KEY=TEST_TOKEN_KEY,
        EBOK_INVOICE_SELLER_NIP=DEMO_SELLER_NIP,
        PYTHONUNBUFFERED="1",
    )
    return env


class WorkerProcess:
    """One worker at a time; every start is a new process with its own log file.

    ``cwd`` should be an empty folder, so that no ``.ebok-dev/dev.env`` is read.
    """

    def __init__(self, env: dict[str, str], cwd: Path, name: str = "worker") -> None:
        self.env, self.cwd, self.name = env, cwd, name
        self.starts = 0
        self.kills = 0
        self._proc: asyncio.subprocess.Process | None = None
        self._log: IO[bytes] | None = None
        self._log_path: Path | None = None
        cwd.mkdir(parents=True, exist_ok=True)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    async def start(self, ready_within: float = 60) -> None:
        """Start a new process and wait until it says it polls the task queue."""
        if self._proc is not None:
            raise RuntimeError("a worker is already running")
        self.starts += 1
        self._log_path = self.cwd / f"{self.name}-{self.starts}.log"
        self._log = self._log_path.open("wb")
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(REPO / "worker.py"),
            cwd=self.cwd,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=self._log,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            async with asyncio.timeout(ready_within):
                while READY not in self._log_path.read_bytes():
                    if self._proc.returncode is not None:
                        raise RuntimeError(f"worker exited early:\n{self.log_tail()}")
                    await asyncio.sleep(0.05)
        except BaseException:
            await self.kill()
            raise

    async def kill(self) -> None:
        """SIGKILL: no shutdown code runs, in-flight tasks are simply lost."""
        proc = self._proc
        if proc is None:
            return
        if proc.returncode is None:
            proc.send_signal(signal.SIGKILL)
            self.kills += 1
        await self._reap(proc)

    async def stop(self, grace: float = 20) -> None:
        """SIGTERM (graceful), then SIGKILL if it has not exited within ``grace`` seconds."""
        proc = self._proc
        if proc is None:
            return
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(grace):
                    await proc.wait()
            except TimeoutError:
                proc.send_signal(signal.SIGKILL)
        await self._reap(proc)

    def log_tail(self, lines: int = 30) -> str:
        if self._log_path is None or not self._log_path.exists():
            return ""
        text = self._log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    async def _reap(self, proc: asyncio.subprocess.Process) -> None:
        try:
            async with asyncio.timeout(30):
                await proc.wait()
        finally:
            self._proc = None
            if self._log is not None:
                self._log.close()
                self._log = None
