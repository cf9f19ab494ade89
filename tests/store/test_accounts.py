"""Accounts in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

from ebok.store.db import Store
from tests.factories import an_account


async def test_taken_by_address_or_login_in_any_case(store: Store) -> None:
    _, email = await an_account(store)
    login = email.partition("@")[0].replace(".", "")  # the factory's login
    async with store.begin() as uow:
        assert await uow.accounts.taken(email.upper(), "someone.new")
        assert await uow.accounts.taken("new@example.pl", login.upper())
        assert not await uow.accounts.taken("new@example.pl", "someone.new")
