"""Paper letters waiting to be printed, registered letters sent through the post with their
fate, and supply suspension requests filed with the grid operator: what the invoice lifecycle
hands to the world outside e-mail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ebok.models.post import LetterFate, LetterState, received_on
from ebok.store.dialect import insert_for
from ebok.store.tables import business_partners as bp
from ebok.store.tables import paper_queue as pq
from ebok.store.tables import postal_addresses as pa
from ebok.store.tables import postal_letters as pl
from ebok.store.tables import suspension_requests as sr

__all__ = [
    "PaperLetter",
    "PaperRepository",
    "PostalAddress",
    "PostalLetterRepository",
    "Suspension",
    "SuspensionRepository",
]


@dataclass(frozen=True)
class PaperLetter:
    id: str
    invoice_number: str
    partner_number: str
    kind: str
    details: dict[str, Any]
    queued_at: datetime
    partner_name: str = ""


# A letter's own columns; the addressee's name comes from the partner.
_LETTER = [pq.c[f] for f in PaperLetter.__dataclass_fields__ if f != "partner_name"]


class PaperRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def queue(
        self,
        letter_id: str,
        invoice_number: str,
        partner_number: str,
        kind: str,
        details: dict[str, Any],
        at: datetime,
    ) -> bool:
        """True if queued by this call; the same letter id twice is one letter."""
        made = await self._conn.execute(
            insert_for(self._conn)(pq)
            .values(
                id=letter_id,
                invoice_number=invoice_number,
                partner_number=partner_number,
                kind=kind,
                details=details,
                queued_at=at,
            )
            .on_conflict_do_nothing(index_elements=[pq.c.id])
            .returning(pq.c.id)
        )
        return made.first() is not None

    async def of_invoice(self, invoice_number: str) -> list[PaperLetter]:
        rows = await self._conn.execute(
            select(*_LETTER)
            .where(pq.c.invoice_number == invoice_number)
            .order_by(pq.c.queued_at, pq.c.id)
        )
        return [PaperLetter(**r) for r in rows.mappings()]

    async def take_unexported(self, at: datetime) -> list[PaperLetter]:
        """The letters not exported yet, with the addressee's name, marked exported in the
        same transaction: an export that fails rolls back and leaves them waiting."""
        rows = await self._conn.execute(
            select(*_LETTER, bp.c.name.label("partner_name"))
            .join(bp, bp.c.number == pq.c.partner_number)
            .where(pq.c.exported_at.is_(None))
            .order_by(pq.c.queued_at, pq.c.id)
        )
        letters = [PaperLetter(**r) for r in rows.mappings()]
        if letters:
            await self._conn.execute(
                update(pq)
                .where(pq.c.id.in_([x.id for x in letters]), pq.c.exported_at.is_(None))
                .values(exported_at=at)
            )
        return letters


@dataclass(frozen=True)
class Suspension:
    key: str
    invoice_number: str
    ppe: str
    reference: str
    notice_served_at: datetime
    not_before: datetime
    filed_at: datetime
    withdrawn_at: datetime | None
    withdrawn_reason: str | None


class SuspensionRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def record(self, s: Suspension) -> None:
        values = {f: getattr(s, f) for f in Suspension.__dataclass_fields__}
        await self._conn.execute(
            insert_for(self._conn)(sr)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[sr.c.key])
        )

    async def of_invoice(self, invoice_number: str) -> list[Suspension]:
        rows = await self._conn.execute(
            select(sr).where(sr.c.invoice_number == invoice_number).order_by(sr.c.filed_at)
        )
        return [Suspension(**r) for r in rows.mappings()]

    async def withdrawn(self, key: str, at: datetime, reason: str) -> None:
        await self._conn.execute(
            update(sr)
            .where(sr.c.key == key, sr.c.withdrawn_at.is_(None))
            .values(withdrawn_at=at, withdrawn_reason=reason[:200])
        )


@dataclass(frozen=True)
class PostalAddress:
    """Where a partner's registered letters go (personal data)."""

    partner_number: str
    name: str
    street: str
    postal_code: str
    city: str


class PostalLetterRepository:
    """Registered letters by our key and the post's tracking id, with their fate."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def set_address(self, a: PostalAddress, at: datetime) -> None:
        values = {**{f: getattr(a, f) for f in PostalAddress.__dataclass_fields__}}
        stmt = insert_for(self._conn)(pa).values(**values, updated_at=at)
        await self._conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[pa.c.partner_number],
                set_={
                    k: stmt.excluded[k] for k in (*values, "updated_at") if k != "partner_number"
                },
            )
        )

    async def address_of(self, partner_number: str) -> PostalAddress | None:
        row = (
            (
                await self._conn.execute(
                    select(*[pa.c[f] for f in PostalAddress.__dataclass_fields__]).where(
                        pa.c.partner_number == partner_number
                    )
                )
            )
            .mappings()
            .first()
        )
        return PostalAddress(**row) if row else None

    async def sent(self, invoice_number: str, fate: LetterFate, at: datetime) -> None:
        """The letter as posted; the same key again changes nothing."""
        await self._conn.execute(
            insert_for(self._conn)(pl)
            .values(invoice_number=invoice_number, sent_at=at, **_fate_values(fate, at))
            .on_conflict_do_nothing(index_elements=[pl.c.key])
        )

    async def reported(self, fate: LetterFate, at: datetime) -> str | None:
        """The post's news of a letter; the invoice it is for, or None for a letter not ours.
        A final state is never replaced (a late or repeated notification changes nothing)."""
        found = (
            await self._conn.execute(
                select(pl.c.invoice_number, pl.c.state).where(pl.c.tracking_id == fate.tracking_id)
            )
        ).first()
        if found is None:
            return None
        if not LetterState(found.state).final:
            await self._conn.execute(
                update(pl)
                .where(pl.c.tracking_id == fate.tracking_id)
                .values(**_fate_values(fate, at))
            )
        return str(found.invoice_number)

    async def of_invoice(self, invoice_number: str) -> list[dict[str, Any]]:
        rows = await self._conn.execute(
            select(pl).where(pl.c.invoice_number == invoice_number).order_by(pl.c.sent_at)
        )
        return [dict(r) for r in rows.mappings()]

    async def pending(self) -> list[str]:
        """Tracking ids of letters whose fate is not final yet, for polling the post."""
        rows = await self._conn.execute(
            select(pl.c.tracking_id).where(
                pl.c.state.in_([LetterState.POSTED.value, LetterState.AWAITING_COLLECTION.value])
            )
        )
        return [r.tracking_id for r in rows]


def _fate_values(fate: LetterFate, at: datetime) -> dict[str, Any]:
    days = ("posted_on", "delivered_on", "refused_on", "notice_left_on", "collected_on")
    return {
        "key": fate.key,
        "tracking_id": fate.tracking_id,
        "state": fate.state.value,
        **{d: getattr(fate, d) for d in (*days, "returned_on")},
        "received_on": received_on(fate),
        "updated_at": at,
    }
