"""Fresh, unique business data for tests that share a database: accounts and partners."""

from __future__ import annotations

import io
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from stdnum.ean import calc_check_digit

from adapters.operator.base import ContractType
from adapters.operator.sandbox import RegistryRow, RowStatus
from ebok.store.db import Store
from ebok.store.registrations import RegistrationRecord
from facade.billing_import import import_partners

HEADER = (
    "partner_number,partner_name,partner_kind,nip,pesel,contract_account,ppe,legacy_ppe,"
    "area,tariff,invoice_number,invoice_gross,invoice_date\n"
)


def _pesel(rng: random.Random) -> str:
    digits = f"{rng.randint(50, 99):02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    digits += f"{rng.randint(0, 9999):04d}"
    check = (10 - sum(int(d) * w for d, w in zip(digits, (1, 3, 7, 9) * 3, strict=False)) % 10) % 10
    return digits + str(check)


def a_nip(rng: random.Random) -> str:
    """A random NIP with a valid check digit (weights 6,5,7,2,3,4,5,6,7; mod 11, not 10)."""
    while True:
        digits = f"{rng.randint(1, 9)}{rng.randint(0, 10**8 - 1):08d}"
        check = sum(int(d) * w for d, w in zip(digits, (6, 5, 7, 2, 3, 4, 5, 6, 7), strict=True))
        if check % 11 != 10:
            return digits + str(check % 11)


@dataclass
class Partner:
    number: str
    pesel: str
    invoices: list[tuple[str, str]]  # (number, gross as printed)
    ppes: list[str]
    registry: list[RegistryRow] = field(default_factory=list)


async def a_partner(
    store: Store,
    contract: ContractType = ContractType.DISTRIBUTION,
    n_ppes: int = 1,
    *,
    business: bool = False,
) -> Partner:
    """A fresh partner in billing (a household, or a business with a NIP) and a matching row
    in the operator's registry."""
    rng = random.Random(uuid.uuid4().int)
    number = f"{rng.randint(10**9, 10**10 - 1)}"
    pesel = _pesel(rng)
    kind = f"business,{a_nip(rng)}" if business else "household,"
    rows, invoices, ppes = [], [], []
    for _ in range(n_ppes):
        body_ = f"5903801{rng.randint(0, 10**10 - 1):010d}"
        ppe = body_ + calc_check_digit(body_)
        account = f"{rng.randint(10**11, 10**12 - 1)}"
        invoice = f"FV/2026/11/{rng.randint(0, 10**8):08d}"
        gross = f"{rng.randint(10, 999)},{rng.randint(0, 99):02d}"
        rows.append(
            f"{number},Klient Testowy,{kind},{pesel},{account},{ppe},,WAW-MOKOTOW,G11,"
            f'{invoice},"{gross}",{datetime.now(UTC).date().isoformat()}\n'
        )
        invoices.append((invoice, gross))
        ppes.append(ppe)
    report = await import_partners(store, io.StringIO(HEADER + "".join(rows)))
    assert not report.bad, report.bad
    registry = [RegistryRow(p, pesel, contract, RowStatus.ACTIVE) for p in ppes]
    return Partner(number, pesel, invoices, ppes, registry)


async def an_account(store: Store) -> tuple[str, str]:
    account_id, tag = uuid.uuid4().hex, uuid.uuid4().hex[:8]
    email = f"klient.{tag}@example.pl"
    now = datetime.now(UTC)
    record = RegistrationRecord(
        account_id, email, f"klient{tag}", "x", "pl", "activated", "2026-01", now, now
    )
    async with store.begin() as uow:
        await uow.registrations.add(account_id, email, record.login or "", "pl", "activated", now)
        await uow.accounts.create_from(record, now)
    return account_id, email


async def a_linked_account(store: Store) -> tuple[str, str, Partner]:
    """An activated account already linked to a fresh partner: (account id, e-mail, partner)."""
    partner = await a_partner(store)
    account_id, email = await an_account(store)
    async with store.begin() as uow:
        await uow.billing.link(account_id, partner.number, datetime.now(UTC), "invoice")
    return account_id, email, partner
