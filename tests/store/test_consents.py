"""E-invoice consents on SQLite and PostgreSQL: one active per partner, granting is idempotent
on the consent id, withdrawal keeps the record for audit."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from ebok.store.consents import Consent
from ebok.store.db import Store
from tests.store.test_billing import a_contract_account, a_partner_number, a_ppe, seed

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def a_consent(partner: str, **changes: object) -> Consent:
    values: dict[str, object] = dict(
        id=f"consent-{uuid.uuid4().hex[:12]}",
        partner_number=partner,
        account_id="acc-1",
        email="jan@example.pl",
        language="pl",
        terms_version="2026-01",
        channel="web",
        requested_at=T0,
        granted_at=T0 + timedelta(minutes=5),
        withdrawn_at=None,
        withdrawn_channel=None,
    )
    values.update(changes)
    return Consent(**values)  # type: ignore[arg-type]


async def a_partner(store: Store) -> str:
    partner = a_partner_number()
    await seed(store, partner, a_contract_account(), a_ppe())
    return partner


async def test_grant_is_idempotent_and_keeps_the_first_active(store: Store) -> None:
    partner = await a_partner(store)
    first = a_consent(partner)
    async with store.begin() as uow:
        assert (await uow.consents.grant(first)) == first
        assert (await uow.consents.grant(first)) == first
        # A second request while one is in force does not replace it.
        assert (await uow.consents.grant(a_consent(partner, email="x@example.pl"))) == first
        assert [c.id for c in await uow.consents.history(partner)] == [first.id]


async def test_withdraw_keeps_the_record_and_allows_a_new_consent(store: Store) -> None:
    partner = await a_partner(store)
    first = a_consent(partner)
    async with store.begin() as uow:
        await uow.consents.grant(first)
        ended = await uow.consents.withdraw(partner, T0 + timedelta(days=1), "mobile")
        assert ended is not None and ended.withdrawn_channel == "mobile" and not ended.active
        assert await uow.consents.withdraw(partner, T0 + timedelta(days=2), "web") is None
        assert await uow.consents.active_for(partner) is None
        second = a_consent(partner, granted_at=T0 + timedelta(days=3))
        assert (await uow.consents.grant(second)) == second
        assert [c.id for c in await uow.consents.history(partner)] == [first.id, second.id]


async def test_the_database_refuses_two_active_consents(store: Store) -> None:
    partner = await a_partner(store)
    with pytest.raises(IntegrityError):
        async with store.begin() as uow:
            await uow.consents.grant(a_consent(partner))
            # Bypass the repository's check: the partial unique index is the real guard.
            from ebok.store.dialect import insert_for
            from ebok.store.tables import einvoice_consents

            c = a_consent(partner)
            await uow.conn.execute(insert_for(uow.conn)(einvoice_consents).values(**c.__dict__))


async def test_unknown_channel_is_refused_by_name(store: Store) -> None:
    partner = await a_partner(store)
    async with store.begin() as uow:
        with pytest.raises(ValueError, match="channel"):
            await uow.consents.grant(a_consent(partner, channel="fax"))
