"""The contract every PostalService must meet; plugins reuse it (as ``adapters/testing.py``'s).

Subclass :class:`PostalServiceContract` and override two fixtures: ``post``, a fresh
PostalService (close it after the test), and ``postman``, an async
``(event, tracking_id, day) -> (body, headers)`` that makes the far end report ``event``
(``deliver``, ``refuse``, ``awizo``, ``collect`` or ``return``) for the letter on ``day`` and
returns the signed notification the provider sends about it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any

import pytest

from adapters.post.base import (
    LetterRequest,
    LetterState,
    NotificationRejected,
    PostalService,
    PostRejected,
    Recipient,
)
from ebok.models.post import received_on

__all__ = ["POSTED_ON", "Postman", "PostalServiceContract", "sample_letter"]

Postman = Callable[[str, str, date], Awaitable[tuple[bytes, dict[str, str]]]]
POSTED_ON = date(2026, 3, 2)


def sample_letter(**overrides: Any) -> LetterRequest:
    fields: dict[str, Any] = {
        "key": f"FV-2026-{uuid.uuid4().hex[:10]}:1",
        "recipient": Recipient("Jan Kowalski", "ul. Źródlana 5 m. 3", "00-950", "Łódź"),
        "document": "Wezwanie do zapłaty – zażółć gęślą jaźń\n".encode(),
        "content_type": "text/plain; charset=utf-8",
        "posted_on": POSTED_ON,
    }
    return LetterRequest(**(fields | overrides))


class PostalServiceContract:
    """What every postal adapter must do; see the module docstring."""

    @pytest.fixture
    def post(self) -> PostalService:
        raise NotImplementedError("override the 'post' fixture")

    @pytest.fixture
    def postman(self) -> Postman:
        raise NotImplementedError("override the 'postman' fixture")

    async def test_is_a_postal_service(self, post: PostalService) -> None:
        assert isinstance(post, PostalService)

    async def test_send_is_idempotent_on_key(self, post: PostalService) -> None:
        letter = sample_letter()
        first = await post.send_letter(letter)
        again = await post.send_letter(letter)
        assert first.state is LetterState.POSTED and first.key == letter.key
        assert again.tracking_id == first.tracking_id and first.posted_on == POSTED_ON
        assert (await post.letter_status(first.tracking_id)).state is LetterState.POSTED

    async def test_key_used_for_another_document_is_rejected(self, post: PostalService) -> None:
        letter = sample_letter()
        await post.send_letter(letter)
        with pytest.raises(PostRejected):
            await post.send_letter(sample_letter(key=letter.key, document=b"other"))

    async def test_unknown_letter_is_rejected(self, post: PostalService) -> None:
        with pytest.raises(PostRejected):
            await post.letter_status("SBX-L-000000000000")

    async def test_delivered(self, post: PostalService, postman: Postman) -> None:
        sent = await post.send_letter(sample_letter())
        day = POSTED_ON + timedelta(days=2)
        body, headers = await postman("deliver", sent.tracking_id, day)
        note = await post.verify_notification(body, headers)
        status = await post.letter_status(sent.tracking_id)
        assert note.state is status.state is LetterState.DELIVERED
        assert note.delivered_on == status.delivered_on == day and received_on(note) == day

    async def test_refused_counts_as_received(self, post: PostalService, postman: Postman) -> None:
        sent = await post.send_letter(sample_letter())
        day = POSTED_ON + timedelta(days=1)
        note = await post.verify_notification(*await postman("refuse", sent.tracking_id, day))
        assert note.state is LetterState.REFUSED and received_on(note) == day

    async def test_awizo_then_collected(self, post: PostalService, postman: Postman) -> None:
        sent = await post.send_letter(sample_letter())
        left = POSTED_ON + timedelta(days=1)
        waiting = await post.verify_notification(*await postman("awizo", sent.tracking_id, left))
        assert waiting.state is LetterState.AWAITING_COLLECTION and received_on(waiting) is None
        day = left + timedelta(days=9)
        note = await post.verify_notification(*await postman("collect", sent.tracking_id, day))
        assert note.notice_left_on == left and note.collected_on == day == received_on(note)

    async def test_unclaimed_is_deemed_received_when_the_period_ends(
        self, post: PostalService, postman: Postman
    ) -> None:
        sent = await post.send_letter(sample_letter())
        left = POSTED_ON + timedelta(days=1)
        await postman("awizo", sent.tracking_id, left)
        back = left + timedelta(days=15)
        note = await post.verify_notification(*await postman("return", sent.tracking_id, back))
        status = await post.letter_status(sent.tracking_id)
        assert note.state is status.state is LetterState.RETURNED and note.returned_on == back
        assert received_on(status) == left + timedelta(days=14)

    async def test_tampered_notification_is_rejected(
        self, post: PostalService, postman: Postman
    ) -> None:
        sent = await post.send_letter(sample_letter())
        body, headers = await postman("deliver", sent.tracking_id, POSTED_ON)
        forged = json.loads(body)
        forged["delivered_on"] = (POSTED_ON + timedelta(days=20)).isoformat()
        with pytest.raises(NotificationRejected):
            await post.verify_notification(json.dumps(forged).encode(), headers)

    async def test_unsigned_or_wrongly_signed_notification_is_rejected(
        self, post: PostalService, postman: Postman
    ) -> None:
        sent = await post.send_letter(sample_letter())
        body, headers = await postman("deliver", sent.tracking_id, POSTED_ON)
        with pytest.raises(NotificationRejected):
            await post.verify_notification(body, {"Content-Type": "application/json"})
        wrong = {k: (v[:-1] + ("0" if v[-1] != "0" else "1")) for k, v in headers.items()}
        with pytest.raises(NotificationRejected):
            await post.verify_notification(body, wrong)
        lower = {k.lower(): v for k, v in headers.items()}
        assert (await post.verify_notification(body, lower)).state is LetterState.DELIVERED

    async def test_aclose_twice_is_fine(self, post: PostalService) -> None:
        await post.aclose()
        await post.aclose()
