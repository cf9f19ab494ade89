"""The billing tables on SQLite and PostgreSQL: upserts on natural keys, PPE look-ups (legacy
codes too), exact invoice matching and idempotent links. Ids are fresh per test."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from stdnum import ean

from ebok.store.billing import PartnerRecord, PpeRecord
from ebok.store.db import Store
from ebok.store.tables import business_partners, invoices, points_of_delivery

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
ISSUED = date(2026, 11, 5)

# --- fresh, valid identifiers (shared with tests/test_billing_import.py) -------------------------


def digits(n: int) -> str:
    return str(uuid.uuid4().int % 10**n).zfill(n)


def a_partner_number() -> str:
    return "1" + digits(9)


def a_contract_account() -> str:
    return "2" + digits(11)


def a_ppe() -> str:
    body = "5903801" + digits(10)
    return body + ean.calc_check_digit(body)


def a_pesel() -> str:
    n = int(digits(8))
    body = f"{50 + n % 50:02d}{1 + n // 50 % 12:02d}{1 + n // 600 % 28:02d}{digits(4)}"
    check = (10 - sum(w * int(d) for w, d in zip((1, 3, 7, 9) * 3, body, strict=False)) % 10) % 10
    return body + str(check)


def a_nip() -> str:
    while True:
        body = str(1 + int(digits(3)) % 998).zfill(3) + digits(6)
        check = sum(w * int(d) for w, d in zip((6, 5, 7, 2, 3, 4, 5, 6, 7), body, strict=True))
        if check % 11 != 10:
            return body + str(check % 11)


def an_invoice_number() -> str:
    return f"FV/2026/11/{digits(10)}"


# --- helpers -------------------------------------------------------------------------------------


async def seed(
    store: Store,
    partner: str,
    account: str,
    ppe: str,
    *,
    legacy: str | None = None,
    nip: str | None = None,
    invoice: str | None = None,
    gross: int = 24567,
) -> None:
    async with store.begin() as uow:
        b = uow.billing
        kind = "business" if nip else "household"
        await b.upsert_partner(partner, name="Jan Kowalski", kind=kind, nip=nip, pesel=None, at=T0)
        await b.upsert_contract_account(account, partner_number=partner, at=T0)
        await b.upsert_ppe(
            ppe,
            contract_account=account,
            area="WAW-MOKOTOW",
            tariff="G11",
            legacy_ppe=legacy,
            at=T0,
        )
        if invoice:
            await b.upsert_invoice(
                invoice,
                partner_number=partner,
                contract_account=account,
                gross_grosze=gross,
                issue_date=ISSUED,
                at=T0,
            )


async def count(store: Store, table: object, *where: object) -> int:
    async with store.begin() as uow:
        found = await uow.conn.execute(select(func.count()).select_from(table).where(*where))  # type: ignore[arg-type]
        return int(found.scalar_one())


# --- tests ---------------------------------------------------------------------------------------


async def test_upserts_update_and_never_duplicate(store: Store) -> None:
    partner, account, ppe = a_partner_number(), a_contract_account(), a_ppe()
    pesel = a_pesel()
    await seed(store, partner, account, ppe, invoice=(invoice := an_invoice_number()))
    await seed(store, partner, account, ppe, invoice=invoice, gross=30000)
    async with store.begin() as uow:
        b = uow.billing
        await b.upsert_partner(
            partner, name="Jan Kowalski-Nowak", kind="household", nip=None, pesel=pesel, at=T0
        )
        moved_to = a_contract_account()  # a new tenant: the PPE goes to their contract account
        await b.upsert_contract_account(moved_to, partner_number=partner, at=T0)
        await b.upsert_ppe(
            ppe, contract_account=moved_to, area="WAW-WOLA", tariff="G12", legacy_ppe=None, at=T0
        )
        assert await b.partner(partner) == PartnerRecord(
            partner, "Jan Kowalski-Nowak", "household", None, pesel
        )
        assert await b.ppes_of_partner(partner) == [
            PpeRecord(ppe, moved_to, None, "WAW-WOLA", "G12")
        ]
        assert await b.invoice_matches(partner, invoice, 30000, since=ISSUED)
    assert await count(store, business_partners, business_partners.c.number == partner) == 1
    assert await count(store, points_of_delivery, points_of_delivery.c.ppe == ppe) == 1
    assert await count(store, invoices, invoices.c.number == invoice) == 1


async def test_a_nip_names_one_partner_and_households_need_none(store: Store) -> None:
    nip = a_nip()
    await seed(store, a_partner_number(), a_contract_account(), a_ppe(), nip=nip)
    await seed(store, a_partner_number(), a_contract_account(), a_ppe())  # no NIP, twice: fine
    await seed(store, a_partner_number(), a_contract_account(), a_ppe())
    other = a_partner_number()
    with pytest.raises(IntegrityError):
        await seed(store, other, a_contract_account(), a_ppe(), nip=nip)
    async with store.begin() as uow:
        assert await uow.billing.partner(other) is None  # rolled back whole
        assert await uow.billing.partner_by_nip(nip) not in (None, other)


async def test_ppe_lookup_by_current_and_legacy_code(store: Store) -> None:
    partner, ppe, legacy = a_partner_number(), a_ppe(), f"PL00380{digits(8)}"
    await seed(store, partner, a_contract_account(), ppe, legacy=legacy)
    second = a_ppe()
    await seed(store, partner, a_contract_account(), second)
    async with store.begin() as uow:
        b = uow.billing
        assert await b.partner_of_ppe(ppe) == partner
        assert await b.partner_of_ppe(f" {ppe[:6]} {ppe[6:12]} {ppe[12:]} ") == partner
        assert await b.partner_of_ppe(legacy) == partner
        assert await b.partner_of_ppe(f"  {legacy} ") == partner
        assert await b.ppe_of_legacy(legacy) == ppe
        assert await b.partner_of_ppe(a_ppe()) is None
        assert await b.partner_of_ppe("") is None
        assert {p.ppe for p in await b.ppes_of_partner(partner)} == {ppe, second}
        assert await b.ppes_of_partner(a_partner_number()) == []
        assert await b.partner(a_partner_number()) is None
    with pytest.raises(IntegrityError):  # one legacy code, one point
        await seed(store, a_partner_number(), a_contract_account(), a_ppe(), legacy=legacy)


async def test_invoice_match_is_exact_and_recent(store: Store) -> None:
    partner, invoice = a_partner_number(), an_invoice_number()
    await seed(store, partner, a_contract_account(), a_ppe(), invoice=invoice, gross=24567)
    other = a_partner_number()
    await seed(store, other, a_contract_account(), a_ppe())
    async with store.begin() as uow:
        matches = uow.billing.invoice_matches
        assert await matches(partner, invoice, 24567, since=ISSUED - timedelta(days=90))
        assert await matches(partner, f" {invoice} ", 24567, since=ISSUED)  # the issue day counts
        assert not await matches(partner, invoice, 24566, since=ISSUED - timedelta(days=90))
        assert not await matches(other, invoice, 24567, since=ISSUED - timedelta(days=90))
        assert not await matches(partner, an_invoice_number(), 24567, since=ISSUED)
        assert not await matches(partner, invoice, 24567, since=ISSUED + timedelta(days=1))


async def test_invoice_keeps_when_it_was_first_loaded(store: Store) -> None:
    partner, account, invoice = a_partner_number(), a_contract_account(), an_invoice_number()
    await seed(store, partner, account, a_ppe(), invoice=invoice)
    async with store.begin() as uow:
        await uow.billing.upsert_invoice(
            invoice,
            partner_number=partner,
            contract_account=account,
            gross_grosze=1,
            issue_date=ISSUED,
            at=T0 + timedelta(days=1),
        )
        created = await uow.conn.execute(
            select(invoices.c.created_at, invoices.c.gross_grosze).where(
                invoices.c.number == invoice
            )
        )
        assert tuple(created.one()) == (T0, 1)


async def test_links_are_idempotent(store: Store) -> None:
    partner, landlord_flat = a_partner_number(), a_partner_number()
    await seed(store, partner, a_contract_account(), a_ppe())
    await seed(store, landlord_flat, a_contract_account(), a_ppe())
    account, spouse = uuid.uuid4().hex, uuid.uuid4().hex
    async with store.begin() as uow:
        b = uow.billing
        assert await b.link(account, partner, T0, "invoice") is True
        assert await b.link(account, partner, T0 + timedelta(hours=1), "ppe") is False
        assert await b.link(spouse, partner, T0 + timedelta(minutes=1), "staff") is True
        assert await b.link(account, landlord_flat, T0 + timedelta(minutes=2), "ppe") is True
    async with store.begin() as uow:
        b = uow.billing
        assert await b.links_of_partner(partner) == [account, spouse]
        assert await b.partners_of_account(account) == [partner, landlord_flat]
        assert await b.partners_of_account(uuid.uuid4().hex) == []
        with pytest.raises(ValueError, match="link method"):
            await b.link(account, partner, T0, "guess")
    with pytest.raises(IntegrityError):  # no link to a partner billing does not know
        async with store.begin() as uow:
            await uow.billing.link(account, a_partner_number(), T0, "staff")


async def test_lock_partner_makes_rival_links_queue(store: Store) -> None:
    """Two accounts race for one partner; with the lock, exactly one sees "no link yet"."""
    partner = a_partner_number()
    await seed(store, partner, a_contract_account(), a_ppe())

    async def claim(account: str) -> bool:
        async with store.begin() as uow:
            assert await uow.billing.lock_partner(partner)
            if await uow.billing.links_of_partner(partner):
                return False
            await asyncio.sleep(0.05)  # widen the window a lost race would need
            return await uow.billing.link(account, partner, T0, "invoice")

    won = await asyncio.gather(*(claim(uuid.uuid4().hex) for _ in range(5)))
    assert sorted(won) == [False] * 4 + [True]
    async with store.begin() as uow:
        assert await uow.billing.lock_partner(a_partner_number()) is False
