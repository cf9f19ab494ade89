"""MemorySender: the shipped in-memory double."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from adapters.email.base import EmailError, EmailUnavailable, RecipientRejected
from adapters.email.memory import MemorySender
from adapters.testing import EmailSenderContract, Received, sample_mail
from ebok.settings import Settings


class TestMemorySenderContract(EmailSenderContract):
    """Same Message-ID twice: stored once, like a relay that deduplicates."""

    @pytest.fixture
    def sender(self) -> MemorySender:
        return MemorySender.from_settings(Settings())

    @pytest.fixture
    def received(self, sender: MemorySender) -> Received:
        async def got() -> list[EmailMessage]:
            return sender.messages

        return got


async def test_keeps_the_mail_and_the_parsed_message() -> None:
    sender = MemorySender()
    mail = sample_mail(subject="Faktura — Łódź")
    receipt = await sender.send(mail)
    (sent,) = sender.sent
    assert sent.mail is mail and receipt.message_id == mail.message_id
    assert sent.message["Subject"] == "Faktura — Łódź"
    assert sent.message["Message-ID"] == mail.message_id


async def test_duplicate_message_id_is_stored_once() -> None:
    sender = MemorySender()
    mail = sample_mail()
    await sender.send(mail)
    receipt = await sender.send(mail)
    assert len(sender.sent) == 1 and sender.attempts == 2
    assert "duplicate" in receipt.detail


async def test_fail_next_then_succeed() -> None:
    sender = MemorySender()
    sender.fail_next(2)
    mail = sample_mail()
    for _ in range(2):
        with pytest.raises(EmailUnavailable, match="injected"):
            await sender.send(mail)
    assert sender.sent == []
    await sender.send(mail)
    assert [s.mail for s in sender.sent] == [mail] and sender.attempts == 3


async def test_fail_next_with_a_chosen_error() -> None:
    sender = MemorySender()
    sender.fail_next(error=RecipientRejected("550 no such user"))
    with pytest.raises(RecipientRejected, match="550") as first:
        await sender.send(sample_mail())
    sender.fail_next(error=RecipientRejected("550 no such user"))
    with pytest.raises(RecipientRejected) as second:
        await sender.send(sample_mail())
    assert first.value is not second.value
    await sender.send(sample_mail())
    assert len(sender.sent) == 1


async def test_invalid_mail_fails_before_injected_failures_are_used() -> None:
    sender = MemorySender()
    sender.fail_next(1)
    with pytest.raises(EmailError, match="To"):
        await sender.send(sample_mail(to="nobody"))
    with pytest.raises(EmailUnavailable):
        await sender.send(sample_mail())


async def test_clear_forgets_everything() -> None:
    sender = MemorySender()
    await sender.send(sample_mail())
    sender.fail_next(3)
    sender.clear()
    await sender.send(sample_mail())
    assert len(sender.sent) == 1 and sender.attempts == 1


def test_fail_next_rejects_negative_counts() -> None:
    with pytest.raises(ValueError):
        MemorySender().fail_next(-1)
