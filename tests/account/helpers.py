"""Accounts with a real password hash, for the sign-in and password-reset tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from ebok.passwords import hash_password
from ebok.store.db import Store
from ebok.store.registrations import RegistrationRecord

PASSWORD = "Zielona-Łąka-2026!"
NEW_PASSWORD = "Nad Wisłą szumi wiatr 1410"


async def an_account_with_password(
    store: Store, password: str = PASSWORD, *, password_hash: str | None = None
) -> tuple[str, str, str]:
    """A fresh active account: (account id, e-mail, login)."""
    account_id, tag = uuid.uuid4().hex, uuid.uuid4().hex[:10]
    email, login = f"konto.{tag}@example.pl", f"konto.{tag}"
    now = datetime.now(UTC)
    stored = password_hash or await hash_password(password)
    record = RegistrationRecord(
        account_id, email, login, stored, "pl", "activated", "2026-01", now, now
    )
    async with store.begin() as uow:
        await uow.registrations.add(account_id, email, login, "pl", "activated", now)
        await uow.accounts.create_from(record, now)
    return account_id, email, login


def an_ip() -> str:
    """A client address of the documentation range no other test uses."""
    n = uuid.uuid4().int
    return f"2001:db8:{n % 65536:x}:{(n >> 16) % 65536:x}::1"
