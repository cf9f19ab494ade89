"""Registered letters in the store, on SQLite and PostgreSQL: one row per key, the post's news
recorded with the receipt day, and a final state never replaced by a late notification."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from ebok.models.post import LetterFate, LetterState
from ebok.store.db import Store
from ebok.store.letters import PostalAddress
from tests.workflows.invoices import an_invoice

NOW = datetime(2026, 3, 2, 10, tzinfo=UTC)


async def test_letter_fate_is_kept_and_final_state_wins(store: Store) -> None:
    number = f"FV/LETTER/{uuid.uuid4().hex[:8]}"
    tracking = f"T-{uuid.uuid4().hex[:8]}"
    posted = LetterFate(
        key=f"{number}~1",
        tracking_id=tracking,
        state=LetterState.POSTED,
        posted_on=date(2026, 3, 2),
    )
    async with store.begin() as uow:
        await uow.letters.sent(number, posted, NOW)
        await uow.letters.sent(number, posted, NOW)  # a retried activity: still one row
    refused = posted.model_copy(
        update={"state": LetterState.REFUSED, "refused_on": date(2026, 3, 4)}
    )
    late = posted.model_copy(
        update={"state": LetterState.DELIVERED, "delivered_on": date(2026, 3, 9)}
    )
    async with store.begin() as uow:
        assert tracking in await uow.letters.pending()
        assert await uow.letters.reported(refused, NOW) == number
        assert await uow.letters.reported(late, NOW) == number  # ours, but changes nothing
        stranger = posted.model_copy(update={"tracking_id": "T-unknown-" + tracking})
        assert await uow.letters.reported(stranger, NOW) is None
        (row,) = await uow.letters.of_invoice(number)
        assert tracking not in await uow.letters.pending()
    assert row["state"] == "refused" and row["received_on"] == date(2026, 3, 4)


async def test_postal_address_is_replaced(store: Store) -> None:
    billed = await an_invoice(store, consent=False)
    partner = billed.partner.number
    async with store.begin() as uow:
        await uow.letters.set_address(PostalAddress(partner, "A", "ul. B 1", "00-001", "C"), NOW)
        await uow.letters.set_address(
            PostalAddress(partner, "Łucja Ż", "ul. Źródlana 2", "90-001", "Łódź"), NOW
        )
    async with store.begin() as uow:
        found = await uow.letters.address_of(partner)
        assert await uow.letters.address_of("0000000000") is None
    assert found == PostalAddress(partner, "Łucja Ż", "ul. Źródlana 2", "90-001", "Łódź")
