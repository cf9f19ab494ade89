"""Single-use links: random tokens, kept only as SHA-256, redeemed by one conditional UPDATE."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import bindparam, delete, select, true, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ebok.store.tables import one_time_tokens as t

__all__ = [
    "IssuedToken",
    "Redemption",
    "TokenRepository",
    "TokenState",
    "derive_token",
    "hash_token",
]

# Built once: every link followed asks it.
_SUBJECT_OF = select(t.c.subject_id).where(
    t.c.token_hash == bindparam("hash"), t.c.purpose == bindparam("purpose")
)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def derive_token(key: bytes, purpose: str, subject_id: str, serial: int, salt: str) -> str:
    """256 bits as 64 hex digits: unpredictable without the key, reproducible with key and
    salt. Hex, not base64: it never starts with "-" (a command line's option) and survives
    any mail client's line wrapping and any URL."""
    message = f"{purpose}|{subject_id}|{serial}|{salt}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


class TokenState(StrEnum):
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
    used_at: datetime | None = None
    used_by: str | None = None


class TokenRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def issue(
        self,
        purpose: str,
        subject_id: str,
        serial: int,
        issued_at: datetime,
        expires_at: datetime,
        key: bytes,
    ) -> IssuedToken:
        """Issue link number ``serial`` and revoke every earlier open link of the subject.

        The token is HMAC(key, purpose|subject|serial|salt) with 128 random bits of salt kept
        in the row: issuing the same serial again (a retried activity, after a mail that may
        already have gone out) gives back the very same token, so the link in a mail that did
        arrive keeps working and a second copy is identical to the first. The store keeps the
        salt and the token's SHA-256, never the token.
        """
        if serial < 1:
            raise ValueError(f"link serials start at 1, got {serial}")
        existing = (
            await self._conn.execute(
                select(t.c.salt, t.c.expires_at).where(
                    t.c.purpose == purpose, t.c.subject_id == subject_id, t.c.serial == serial
                )
            )
        ).one_or_none()
        if existing is not None:
            token = derive_token(key, purpose, subject_id, serial, existing.salt)
            return IssuedToken(token, existing.expires_at)
        salt = secrets.token_hex(16)
        token = derive_token(key, purpose, subject_id, serial, salt)
        await self._conn.execute(
            t.insert().values(
                token_hash=hash_token(token),
                salt=salt,
                purpose=purpose,
                subject_id=subject_id,
                serial=serial,
                issued_at=issued_at,
                expires_at=expires_at,
            )
        )
        if serial == 1:
            return IssuedToken(token, expires_at)  # the first link has nothing to revoke
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

    async def redeem(
        self,
        purpose: str,
        token_hash: str,
        at: datetime,
        by: str,
        subject_id: str | None = None,
    ) -> Redemption:
        """Use the token if it is open at ``at``. Exactly one concurrent caller can win.

        ``by`` is the caller's idempotency key: a retry with the same key sees ``used_by == by``.
        With ``subject_id``, a token of another subject is answered as invalid.
        """
        mine = t.c.subject_id == subject_id if subject_id is not None else true()
        won = await self._conn.execute(
            update(t)
            .where(
                t.c.token_hash == token_hash,
                t.c.purpose == purpose,
                mine,
                t.c.used_at.is_(None),
                t.c.revoked_at.is_(None),
                t.c.expires_at > at,
            )
            .values(used_at=at, used_by=by)
            .returning(t.c.subject_id)
        )
        subject = won.scalar_one_or_none()
        if subject is not None:
            return Redemption(TokenState.REDEEMED, subject, at, by)
        return await self.state_of(purpose, token_hash, at, subject_id)

    async def state_of(
        self, purpose: str, token_hash: str, at: datetime, subject_id: str | None = None
    ) -> Redemption:
        """Why a token cannot be redeemed at ``at`` (read only)."""
        mine = t.c.subject_id == subject_id if subject_id is not None else true()
        row = (
            await self._conn.execute(
                select(
                    t.c.subject_id, t.c.used_at, t.c.used_by, t.c.revoked_at, t.c.expires_at
                ).where(t.c.token_hash == token_hash, t.c.purpose == purpose, mine)
            )
        ).one_or_none()
        if row is None or row.revoked_at is not None:
            return Redemption(TokenState.INVALID)
        if row.used_at is not None:
            return Redemption(TokenState.ALREADY_USED, row.subject_id, row.used_at, row.used_by)
        if row.expires_at <= at:
            return Redemption(TokenState.EXPIRED, row.subject_id)
        return Redemption(TokenState.INVALID, row.subject_id)  # open, but not redeemable here

    async def subject_of(self, purpose: str, token_hash: str) -> str | None:
        found = await self._conn.execute(_SUBJECT_OF, {"hash": token_hash, "purpose": purpose})
        return found.scalar_one_or_none()

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
