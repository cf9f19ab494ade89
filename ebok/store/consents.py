"""E-invoice consents: granted once per confirmation, withdrawn once, never deleted (audit)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ebok.store.dialect import insert_for
from ebok.store.tables import einvoice_consents as t

__all__ = ["CHANNELS", "Consent", "ConsentRepository"]

CHANNELS = ("web", "mobile", "staff", "paper")

# Built once: every invoice's notice asks it.
_ACTIVE_FOR = select(t).where(
    t.c.partner_number == bindparam("partner_number"), t.c.withdrawn_at.is_(None)
)


@dataclass(frozen=True)
class Consent:
    id: str
    partner_number: str
    account_id: str
    email: str
    language: str
    terms_version: str
    channel: str
    requested_at: datetime
    granted_at: datetime
    withdrawn_at: datetime | None
    withdrawn_channel: str | None

    @property
    def active(self) -> bool:
        return self.withdrawn_at is None


class ConsentRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def grant(self, consent: Consent) -> Consent:
        """Record ``consent`` (id is the caller's idempotency key) and return the partner's
        active consent: the one just written, the same one written by an earlier attempt, or
        an older active one, which stays in force (the partner already receives e-invoices)."""
        if consent.channel not in CHANNELS:
            raise ValueError(f"channel must be one of {', '.join(CHANNELS)}")
        if consent.withdrawn_at is not None:
            raise ValueError("a consent is granted active")
        existing = await self.active_for(consent.partner_number)
        if existing is not None:
            return existing
        values = {f: getattr(consent, f) for f in Consent.__dataclass_fields__}
        await self._conn.execute(
            insert_for(self._conn)(t).values(**values).on_conflict_do_nothing()
        )
        active = await self.active_for(consent.partner_number)
        assert active is not None, "a consent was just written"
        return active

    async def withdraw(self, partner_number: str, at: datetime, channel: str) -> Consent | None:
        """End the partner's active consent; ``None`` if there was none (withdrawing twice)."""
        if channel not in CHANNELS:
            raise ValueError(f"channel must be one of {', '.join(CHANNELS)}")
        active = await self.active_for(partner_number)
        if active is None:
            return None
        await self._conn.execute(
            update(t)
            .where(t.c.id == active.id, t.c.withdrawn_at.is_(None))
            .values(withdrawn_at=at, withdrawn_channel=channel)
        )
        return await self.get(active.id)

    async def get(self, consent_id: str) -> Consent | None:
        found = await self._conn.execute(select(t).where(t.c.id == consent_id))
        row = found.mappings().first()
        return Consent(**row) if row else None

    async def active_for(self, partner_number: str) -> Consent | None:
        """The consent in force for the partner: invoices issued now go by e-mail to it."""
        found = await self._conn.execute(_ACTIVE_FOR, {"partner_number": partner_number})
        row = found.mappings().first()
        return Consent(**row) if row else None

    async def history(self, partner_number: str) -> list[Consent]:
        rows = await self._conn.execute(
            select(t).where(t.c.partner_number == partner_number).order_by(t.c.granted_at)
        )
        return [Consent(**r) for r in rows.mappings()]
