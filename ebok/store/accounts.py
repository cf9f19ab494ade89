"""Customer accounts: created once, at activation, from the registration's data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ebok.store.registrations import RegistrationRecord
from ebok.store.tables import accounts as t

__all__ = ["AccountRecord", "AccountRepository", "Credentials", "email_key"]


def email_key(email: str) -> str:
    """Mailboxes are compared case-insensitively (what every real provider does)."""
    return email.strip().lower()


@dataclass(frozen=True)
class AccountRecord:
    id: str
    email: str
    login: str
    language: str
    status: str
    created_at: datetime


@dataclass(frozen=True)
class Credentials:
    """What a sign-in checks: the hash, and what a success answers."""

    account_id: str
    password_hash: str
    generation: int


# Built once: sign-ups and outage reports look accounts up by login, address or id.
_COLUMNS = select(t.c.id, t.c.email, t.c.login, t.c.language, t.c.status, t.c.created_at)
_BY_EMAIL_KEY = _COLUMNS.where(t.c.email_key == bindparam("value"))
_BY_LOGIN = _COLUMNS.where(func.lower(t.c.login) == bindparam("value"))
_BY_ID = _COLUMNS.where(t.c.id == bindparam("value"))
_CREDENTIALS = select(t.c.id, t.c.password_hash, t.c.credential_generation).where(
    t.c.status == "active"
)
_CREDENTIALS_BY_EMAIL_KEY = _CREDENTIALS.where(t.c.email_key == bindparam("value"))
_CREDENTIALS_BY_LOGIN = _CREDENTIALS.where(func.lower(t.c.login) == bindparam("value"))


class AccountRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def create_from(self, reg: RegistrationRecord, at: datetime) -> str:
        """Insert the account; raises IntegrityError if the address or login got taken."""
        assert reg.email and reg.login and reg.password_hash and reg.terms_version
        assert reg.terms_accepted_at
        await self._conn.execute(
            t.insert().values(
                id=reg.id,
                registration_id=reg.id,
                email=reg.email,
                email_key=email_key(reg.email),
                login=reg.login,
                password_hash=reg.password_hash,
                language=reg.language,
                status="active",
                terms_version=reg.terms_version,
                terms_accepted_at=reg.terms_accepted_at,
                created_at=at,
            )
        )
        return reg.id

    async def _one(self, query: Any, value: str) -> AccountRecord | None:
        row = (await self._conn.execute(query, {"value": value})).mappings().one_or_none()
        return AccountRecord(**row) if row else None

    async def by_email(self, email: str) -> AccountRecord | None:
        return await self._one(_BY_EMAIL_KEY, email_key(email))

    async def by_login(self, login: str) -> AccountRecord | None:
        return await self._one(_BY_LOGIN, login.lower())

    async def taken(self, email: str, login: str) -> bool:
        """Does an account have this address or this login? One statement for both."""
        found = await self._conn.execute(
            select(t.c.id)
            .where(or_(t.c.email_key == email_key(email), func.lower(t.c.login) == login.lower()))
            .limit(1)
        )
        return found.first() is not None

    async def get(self, id: str) -> AccountRecord | None:
        return await self._one(_BY_ID, id)

    async def password_hash(self, login: str) -> str | None:
        return (
            await self._conn.execute(
                select(t.c.password_hash).where(func.lower(t.c.login) == login.lower())
            )
        ).scalar_one_or_none()

    async def credentials(self, login_or_email: str) -> Credentials | None:
        """The active account signed in to by this login, or by this address if it has an @
        (a login cannot have one)."""
        if "@" in login_or_email:
            query, value = _CREDENTIALS_BY_EMAIL_KEY, email_key(login_or_email)
        else:
            query, value = _CREDENTIALS_BY_LOGIN, login_or_email.strip().lower()
        row = (await self._conn.execute(query, {"value": value})).one_or_none()
        if row is None:
            return None
        return Credentials(row.id, row.password_hash, int(row.credential_generation))
