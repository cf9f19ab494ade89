"""OutboxSender: one .eml file per Message-ID, written atomically."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest

from adapters.email.base import EmailUnavailable
from adapters.email.outbox import OutboxSender
from adapters.testing import EmailSenderContract, Received, sample_mail
from ebok.settings import Settings


def read_outbox(folder: Path) -> list[EmailMessage]:
    files = sorted(folder.glob("*.eml"), key=lambda p: (p.stat().st_mtime_ns, p.name))
    return [BytesParser(policy=policy.default).parsebytes(p.read_bytes()) for p in files]


class TestOutboxSenderContract(EmailSenderContract):
    """Same Message-ID twice: the second write replaces the first, so one file remains."""

    @pytest.fixture
    def sender(self, tmp_path: Path) -> OutboxSender:
        return OutboxSender.from_settings(Settings(outbox_dir=tmp_path / "outbox"))

    @pytest.fixture
    def received(self, tmp_path: Path) -> Received:
        async def got() -> list[EmailMessage]:
            return read_outbox(tmp_path / "outbox")

        return got


async def test_file_is_named_after_the_message_id(tmp_path: Path) -> None:
    sender = OutboxSender(tmp_path)
    mail = sample_mail()
    receipt = await sender.send(mail)
    (path,) = tmp_path.iterdir()
    assert path == sender.path_for(mail.message_id) and receipt.detail == str(path)
    assert path.suffix == ".eml" and mail.message_id.strip("<>") not in path.name
    assert sender.path_for(sample_mail().message_id) != path


async def test_a_retry_overwrites_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    sender = OutboxSender(tmp_path)
    first = sample_mail(text="pierwsza wersja\n")
    await sender.send(first)
    await sender.send(sample_mail(message_id=first.message_id, text="druga wersja\n"))
    assert [p.name for p in tmp_path.iterdir()] == [sender.path_for(first.message_id).name]
    (got,) = read_outbox(tmp_path)
    body = got.get_body(("plain",))
    assert body is not None and "druga wersja" in body.get_content()


async def test_creates_missing_folders(tmp_path: Path) -> None:
    sender = OutboxSender(tmp_path / "a" / "b")
    await sender.send(sample_mail())
    assert len(read_outbox(tmp_path / "a" / "b")) == 1


async def test_unwritable_outbox_is_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with pytest.raises(EmailUnavailable, match="cannot write"):
        await OutboxSender(blocker).send(sample_mail())
