"""E-mail written as .eml files into a folder, for environments without a relay.

A file is named after a hash of the Message-ID, so a retried send overwrites its earlier copy
instead of adding a second one; the write is atomic, so readers never see half a message.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from pathlib import Path

from adapters.email.base import EmailUnavailable, OutgoingEmail, SendReceipt
from adapters.email.mime import render
from ebok.settings import Settings

__all__ = ["OutboxSender"]


class OutboxSender:
    """Writes each message to ``<folder>/<sha256(Message-ID)[:32]>.eml``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @classmethod
    def from_settings(cls, settings: Settings) -> OutboxSender:
        return cls(settings.outbox_dir)

    def path_for(self, message_id: str) -> Path:
        """Where the message with ``message_id`` is (or would be) written."""
        return self.folder / f"{hashlib.sha256(message_id.encode()).hexdigest()[:32]}.eml"

    async def send(self, mail: OutgoingEmail) -> SendReceipt:
        data, _ = render(mail)
        path = self.path_for(mail.message_id)
        try:
            await asyncio.to_thread(_write_atomically, path, data)
        except OSError as e:
            raise EmailUnavailable(f"cannot write {path}: {e}") from e
        return SendReceipt(mail.message_id, str(path))

    async def aclose(self) -> None:
        return None


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # The temporary file sits in the same folder: os.replace is atomic only within a filesystem.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
