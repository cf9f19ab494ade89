"""Serving the app with uvicorn inside a running event loop (``ebok api``, ``worker.py --dev``).

The caller owns the signals: uvicorn's own handlers would replace the caller's and, on the way
out, end the process with the signal before the caller closes its connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Iterator

import uvicorn
from fastapi import FastAPI

__all__ = ["listen", "serving", "split_bind"]

log = logging.getLogger(__name__)


def split_bind(bind: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:8000`` for IPv6) → (host, port)."""
    host, _, port = bind.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


def listen(bind: str) -> socket.socket:
    """A listening socket on ``bind`` (port 0: a free one); a taken port raises OSError here,
    before anything is served."""
    host, port = split_bind(bind)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # The protocol named: asyncio sets TCP_NODELAY only on sockets that say IPPROTO_TCP, and
    # without it each answer (headers, then body) waits ~40 ms for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except BaseException:
        sock.close()
        raise
    return sock


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the caller's handlers stay; it stops the server by leaving ``serving``


@contextlib.asynccontextmanager
async def serving(app: FastAPI, bind: str) -> AsyncIterator[str]:
    """Serve ``app`` on ``bind`` until the block ends; yields the URL served."""
    sock = listen(bind)
    host, port = sock.getsockname()[:2]
    url = f"http://{f'[{host}]' if ':' in host else host}:{port}"
    # host and port as bound, for uvicorn's "running on" line
    config = uvicorn.Config(app, host=host, port=port, log_level="info", lifespan="off")
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    log.info("HTTP API on %s", url)
    try:
        yield url
    finally:
        server.should_exit = True
        await task
        sock.close()
