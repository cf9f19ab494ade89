"""The account's own data (phone, address, language, mail preferences), its e-mail changes and
lock, and the outbox of changes billing reads."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ebok.store.accounts import email_key
from ebok.store.dialect import insert_for
from ebok.store.tables import account_profiles as ap
from ebok.store.tables import accounts as ac
from ebok.store.tables import billing_export_batches as bb
from ebok.store.tables import billing_outbox as bo
from ebok.store.tables import email_changes as ec

__all__ = [
    "BillingChange",
    "EmailChange",
    "EmailChangeRepository",
    "OutboxRepository",
    "ProfileRecord",
    "ProfileRepository",
]

NOTIFY_KINDS = ("invoices", "reminders", "outages", "planned_works")
ACTIVE, LOCKED = "active", "locked"


@dataclass(frozen=True)
class ProfileRecord:
    account_id: str
    phone: str | None
    street: str | None
    postal_code: str | None
    city: str | None
    notify_invoices: bool
    notify_reminders: bool
    notify_outages: bool
    notify_planned_works: bool
    updated_at: datetime


class ProfileRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, account_id: str) -> ProfileRecord | None:
        row = (
            (await self._conn.execute(select(ap).where(ap.c.account_id == account_id)))
            .mappings()
            .first()
        )
        return ProfileRecord(**row) if row else None

    async def save(self, account_id: str, values: dict[str, Any], at: datetime) -> None:
        """Set the given columns (the rest keep their values, or the defaults: every mail on)."""
        defaults: dict[str, Any] = {f"notify_{k}": True for k in NOTIFY_KINDS}
        row = {**defaults, **values, "account_id": account_id, "updated_at": at}
        await self._conn.execute(
            insert_for(self._conn)(ap)
            .values(**row)
            .on_conflict_do_update(
                index_elements=[ap.c.account_id], set_={**values, "updated_at": at}
            )
        )

    async def wants(self, account_id: str, kind: str) -> bool:
        """Does the customer want mails of ``kind`` (invoices, reminders, outages,
        planned_works)? Yes unless they said no."""
        if kind not in NOTIFY_KINDS:
            raise ValueError(f"kind must be one of {', '.join(NOTIFY_KINDS)}")
        found = await self._conn.execute(
            select(ap.c[f"notify_{kind}"]).where(ap.c.account_id == account_id)
        )
        value = found.scalar_one_or_none()
        return True if value is None else bool(value)

    async def set_language(self, account_id: str, language: str) -> None:
        await self._conn.execute(update(ac).where(ac.c.id == account_id).values(language=language))

    async def set_status(self, account_id: str, status: str) -> None:
        await self._conn.execute(update(ac).where(ac.c.id == account_id).values(status=status))


@dataclass(frozen=True)
class EmailChange:
    id: str
    account_id: str
    old_email: str
    new_email: str
    language: str
    state: str
    requested_at: datetime
    changed_at: datetime | None
    undone_at: datetime | None
    unlocked_at: datetime | None
    unlocked_by: str | None
    closed_at: datetime | None


class EmailChangeRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, change: EmailChange) -> None:
        values = {f: getattr(change, f) for f in EmailChange.__dataclass_fields__}
        await self._conn.execute(ec.insert().values(**values))

    async def get(self, change_id: str) -> EmailChange | None:
        row = (await self._conn.execute(select(ec).where(ec.c.id == change_id))).mappings().first()
        return EmailChange(**row) if row else None

    async def apply(self, change_id: str, at: datetime) -> bool:
        """Put the new address on the account. False (and nothing written) if another
        account has that address now."""
        change = await self.get(change_id)
        assert change is not None, "the change row is written before its workflow starts"
        key = email_key(change.new_email)
        taken = await self._conn.execute(
            select(ac.c.id).where(ac.c.email_key == key, ac.c.id != change.account_id)
        )
        if taken.first() is not None:
            await self._set(change_id, state="taken", closed_at=at)
            return False
        await self._conn.execute(
            update(ac)
            .where(ac.c.id == change.account_id)
            .values(email=change.new_email, email_key=key)
        )
        await self._set(change_id, state="changed", changed_at=at)
        return True

    async def undo(self, change_id: str, at: datetime) -> bool:
        """The old address back (unless another account took it meanwhile) and the account
        locked for staff review. True if the old address is back."""
        change = await self.get(change_id)
        assert change is not None
        key = email_key(change.old_email)
        taken = await self._conn.execute(
            select(ac.c.id).where(ac.c.email_key == key, ac.c.id != change.account_id)
        )
        restored = taken.first() is None
        values: dict[str, Any] = {"status": LOCKED}
        if restored:
            values.update(email=change.old_email, email_key=key)
        await self._conn.execute(update(ac).where(ac.c.id == change.account_id).values(**values))
        await self._set(change_id, state="undone", undone_at=at)
        return restored

    async def unlock(self, change_id: str, staff: str, at: datetime) -> None:
        change = await self.get(change_id)
        assert change is not None
        await self._conn.execute(
            update(ac)
            .where(ac.c.id == change.account_id, ac.c.status == LOCKED)
            .values(status=ACTIVE)
        )
        await self._set(change_id, state="unlocked", unlocked_at=at, unlocked_by=staff)

    async def close(self, change_id: str, state: str, at: datetime) -> None:
        await self._conn.execute(
            update(ec)
            .where(ec.c.id == change_id, ec.c.closed_at.is_(None))
            .values(state=state, closed_at=at)
        )

    async def of_account(self, account_id: str) -> list[EmailChange]:
        rows = await self._conn.execute(
            select(ec).where(ec.c.account_id == account_id).order_by(ec.c.requested_at)
        )
        return [EmailChange(**r) for r in rows.mappings()]

    async def _set(self, change_id: str, **values: Any) -> None:
        await self._conn.execute(update(ec).where(ec.c.id == change_id).values(**values))


@dataclass(frozen=True)
class BillingChange:
    id: str
    partner_number: str
    account_id: str
    field: str
    value: dict[str, Any]
    changed_at: datetime
    batch: int | None


_CHANGE = [bo.c[f] for f in BillingChange.__dataclass_fields__]


class OutboxRepository:
    """Billing's outbox. ``take`` gives every change to exactly one numbered batch."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(
        self, partner_number: str, account_id: str, field: str, value: dict[str, Any], at: datetime
    ) -> None:
        await self._conn.execute(
            bo.insert().values(
                # Sorts in the order written (changes of one transaction share changed_at).
                id=f"{time.time_ns():020d}{secrets.token_hex(6)}",
                partner_number=partner_number,
                account_id=account_id,
                field=field,
                value=value,
                changed_at=at,
            )
        )

    async def take(self, at: datetime) -> tuple[int | None, list[BillingChange]]:
        """The changes no export has taken, now batch N (None and nothing if there are none).

        One conditional UPDATE claims them: a rival export waits on the rows and then finds
        them taken, so no change is in two batches."""
        pending = await self._conn.execute(select(func.count()).where(bo.c.batch.is_(None)))
        if not pending.scalar_one():
            return None, []
        made = await self._conn.execute(
            bb.insert().values(exported_at=at, changes=0).returning(bb.c.id)
        )
        batch = made.scalar_one()
        taken = await self._conn.execute(update(bo).where(bo.c.batch.is_(None)).values(batch=batch))
        if not taken.rowcount:  # a rival export took them first: no empty batch
            await self._conn.execute(delete(bb).where(bb.c.id == batch))
            return None, []
        changes = await self.batch(batch)
        await self._conn.execute(update(bb).where(bb.c.id == batch).values(changes=len(changes)))
        return batch, changes

    async def batch(self, batch: int) -> list[BillingChange]:
        rows = await self._conn.execute(
            select(*_CHANGE).where(bo.c.batch == batch).order_by(bo.c.changed_at, bo.c.id)
        )
        return [BillingChange(**r) for r in rows.mappings()]

    async def last_batch(self) -> int | None:
        found = await self._conn.execute(select(func.max(bb.c.id)))
        value: int | None = found.scalar_one()
        return value
