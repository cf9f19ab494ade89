"""RODO consents (marketing by e-mail, by phone, formal notices by e-mail): an append-only
history per account; where a purpose stands is its newest row.

:meth:`RodoConsentRepository.electronic_notices_agreed` is what the invoice process asks
before it sends a formal notice (a payment demand) by e-mail instead of on paper.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from ebok.store.tables import partner_links as pl
from ebok.store.tables import rodo_consents as t

__all__ = ["PURPOSES", "RodoConsent", "RodoConsentRepository"]

PURPOSES = ("marketing_email", "marketing_phone", "electronic_notices")
CHANNELS = ("web", "mobile", "staff", "paper", "phone")


@dataclass(frozen=True)
class RodoConsent:
    seq: int
    account_id: str
    purpose: str
    action: str  # "given" or "withdrawn"
    version: str
    channel: str
    text_sha256: str | None
    at: datetime


class RodoConsentRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def record(
        self,
        account_id: str,
        purpose: str,
        action: str,
        version: str,
        channel: str,
        text_sha256: str | None,
        at: datetime,
    ) -> RodoConsent:
        """Append one event. Rows are never updated or deleted."""
        if purpose not in PURPOSES:
            raise ValueError(f"purpose must be one of {', '.join(PURPOSES)}")
        if action not in ("given", "withdrawn"):
            raise ValueError("action must be given or withdrawn")
        if channel not in CHANNELS:
            raise ValueError(f"channel must be one of {', '.join(CHANNELS)}")
        made = await self._conn.execute(
            t.insert()
            .values(
                account_id=account_id,
                purpose=purpose,
                action=action,
                version=version,
                channel=channel,
                text_sha256=text_sha256,
                at=at,
            )
            .returning(t.c.seq)
        )
        return RodoConsent(
            made.scalar_one(), account_id, purpose, action, version, channel, text_sha256, at
        )

    async def history(self, account_id: str) -> list[RodoConsent]:
        rows = await self._conn.execute(
            select(t).where(t.c.account_id == account_id).order_by(t.c.at, t.c.seq)
        )
        return [RodoConsent(**r) for r in rows.mappings()]

    async def current(
        self, account_id: str, purpose: str, at: datetime | None = None
    ) -> RodoConsent | None:
        """The newest event of the purpose (as of ``at``, if given)."""
        query = select(t).where(t.c.account_id == account_id, t.c.purpose == purpose)
        if at is not None:
            query = query.where(t.c.at <= at)
        row = (
            (await self._conn.execute(query.order_by(t.c.at.desc(), t.c.seq.desc()).limit(1)))
            .mappings()
            .first()
        )
        return RodoConsent(**row) if row else None

    async def electronic_notices_agreed(
        self,
        *,
        at: datetime,
        account_id: str | None = None,
        partner_number: str | None = None,
    ) -> bool:
        """Had the customer agreed, at ``at``, that formal notices may come by e-mail?

        By account, or by business partner: then yes if any web account linked to the
        partner had agreed (a linked account acts for the partner)."""
        if (account_id is None) == (partner_number is None):
            raise ValueError("give exactly one of account_id and partner_number")
        if account_id is not None:
            accounts = [account_id]
        else:
            found = await self._conn.execute(
                select(pl.c.account_id).where(pl.c.partner_number == partner_number)
            )
            accounts = list(found.scalars())
        for account in accounts:
            newest = await self.current(account, "electronic_notices", at)
            if newest is not None and newest.action == "given":
                return True
        return False
