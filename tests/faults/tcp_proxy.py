"""A TCP proxy that can cut a service off and bring it back, for fault-injection tests.

Clients connect to ``127.0.0.1:<port>``; each connection is piped to the target. ``block()``
resets every live connection and answers each new one with a reset until ``unblock()``: to
the client the service is unreachable, as after a network partition or a crashed server, and
it fails at once instead of hanging (so nothing waits for a timeout).
"""

from __future__ import annotations

import asyncio
import socket
import struct
from types import TracebackType
from typing import Self

__all__ = ["TcpProxy"]

_CHUNK = 64 * 1024


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST (linger 0), as a vanished peer would, not with an orderly FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass  # already gone
    writer.transport.abort()


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(_CHUNK):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        if not writer.transport.is_closing():
            writer.close()  # the other direction then ends too


class TcpProxy:
    """Forwards ``host:port`` (port 0 = any free one) to ``target_host:target_port``."""

    def __init__(self, target_host: str, target_port: int, host: str = "127.0.0.1") -> None:
        self.target_host, self.target_port, self.host = target_host, target_port, host
        self.port = 0
        self.accepted = 0  # connections piped to the target
        self.refused = 0  # connections reset on arrival while blocked
        self.dropped = 0  # live connections reset by block()
        self._blocked = False
        self._server: asyncio.Server | None = None
        self._live: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._handlers: set[asyncio.Task[None]] = set()

    @property
    def blocked(self) -> bool:
        return self._blocked

    async def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("already running")
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    def block(self) -> None:
        """Reset every live connection; reset new ones until :meth:`unblock`."""
        self._blocked = True
        for pair in list(self._live):
            self._live.discard(pair)
            self.dropped += 1
            for writer in pair:
                _reset(writer)

    def unblock(self) -> None:
        self._blocked = False

    async def aclose(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()
        self.block()
        handlers = list(self._handlers)
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            await self._pipe(reader, writer)
        finally:
            self._handlers.discard(task)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._blocked:
            self.refused += 1
            _reset(writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            _reset(writer)
            return
        if self._blocked:  # blocked while connecting upstream
            self.refused += 1
            _reset(writer)
            _reset(up_writer)
            return
        pair = (writer, up_writer)
        self._live.add(pair)
        self.accepted += 1
        try:
            await asyncio.gather(_pump(reader, up_writer), _pump(up_reader, writer))
        finally:
            self._live.discard(pair)
            for w in pair:
                if not w.transport.is_closing():
                    w.transport.abort()
