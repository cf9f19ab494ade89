"""Single-use links: random tokens, kept only as SHA-256, redeemed by one conditional UPDATE."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ebok.store.dialect import insert_for
from ebok.store.tables import one_time_tokens as t

__all__ = ["IssuedToken", "Redemption", "TokenRepository", "TokenState", "hash_token"]

TOKEN_BYTES = 32  # 256 random bits; the URL-safe text is 43 characters


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class TokenState(str, Enum):
    REDEEMED = "redeemed"  # this call used it
    EXPIRED = "expired"
    INVALID = "invalid"  # unknown, revoked (a newer link exists) or for another purpose
    ALREADY_USED = "already_used"


@dataclass(frozen=True)
class IssuedToken:
    token: str  # the only copy; goes into the e-mail and nowhere else
    expires_at: datetime


@dataclass(frozen=True)
class Redemption:
    state: TokenState
    subject_id: str | None = None


class TokenRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def issue(
        self, purpose: str, subject_id: str, serial: int, issued_at: datetime, expires_at: datetime
    ) -> IssuedToken:
        """Issue link number ``serial`` and revoke every earlier open link of the subject.

        Issuing the same serial again (a retried activity) replaces the stored hash: the earlier
        token of that serial was never mailed, or the retry's mail supersedes it.
        """
        token = secrets.token_urlsafe(TOKEN_BYTES)
        ins = insert_for(self._conn)(t).values(
            token_hash=hash_token(token),
            purpose=purpose,
            subject_id=subject_id,
            serial=serial,
            issued_at=issued_at,
            expires_at=expires_at,
        )
        await self._conn.execute(
            ins.on_conflict_do_update(
                index_elements=[t.c.purpose, t.c.subject_id, t.c.serial],
                set_={"token_hash": ins.excluded.token_hash, "expires_at": expires_at},
            )
        )
        await self._conn.execute(
            update(t)
            .where(
                t.c.purpose == purpose,
                t.c.subject_id == subject_id,
                t.c.serial < serial,
                t.c.used_at.is_(None),
                t.c.revoked_at.is_(None),
            )
            .values(revoked_at=issued_at)
        )
        return IssuedToken(token, expires_at)

    async def redeem(self, purpose: str, token_hash: str, at: datetime) -> Redemption:
        """Use the token if it is open at ``at``. Exactly one concurrent caller can win."""
        won = await self._conn.execute(
            update(t)
            .where(
                t.c.token_hash == token_hash,
                t.c.purpose == purpose,
                t.c.used_at.is_(None),
                t.c.revoked_at.is_(None),
                t.c.expires_at > at,
            )
            .values(used_at=at)
            .returning(t.c.subject_id)
        )
        subject = won.scalar_one_or_none()
        if subject is not None:
            return Redemption(TokenState.REDEEMED, subject)
        row = (
            await self._conn.execute(
                select(t.c.subject_id, t.c.used_at, t.c.revoked_at, t.c.expires_at).where(
                    t.c.token_hash == token_hash, t.c.purpose == purpose
                )
            )
        ).one_or_none()
        if row is None or row.revoked_at is not None:
            return Redemption(TokenState.INVALID)
        if row.used_at is not None:
            return Redemption(TokenState.ALREADY_USED, row.subject_id)
        return Redemption(TokenState.EXPIRED, row.subject_id)

    async def subject_of(self, purpose: str, token_hash: str) -> str | None:
        return (
            await self._conn.execute(
                select(t.c.subject_id).where(t.c.token_hash == token_hash, t.c.purpose == purpose)
            )
        ).scalar_one_or_none()

    async def revoke_all(self, purpose: str, subject_id: str, at: datetime) -> None:
        await self._conn.execute(
            update(t)
            .where(
                t.c.purpose == purpose,
                t.c.subject_id == subject_id,
                t.c.used_at.is_(None),
                t.c.revoked_at.is_(None),
            )
            .values(revoked_at=at)
        )

    async def delete_all(self, purpose: str, subject_id: str) -> None:
        await self._conn.execute(
            delete(t).where(t.c.purpose == purpose, t.c.subject_id == subject_id)
        )
