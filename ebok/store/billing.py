"""The billing side: business partners, their contract accounts, points of delivery (PPE),
invoices, and which web accounts are linked to which partner.

Billing data arrives by re-importable files, so every write is an upsert on the natural key:
loading the same file twice updates rows and never adds any. Callers pass normalized values
(``ebok.ids``); the repository checks only what the database could not name clearly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ebok.store.dialect import insert_for
from ebok.store.tables import business_partners as bp
from ebok.store.tables import contract_accounts as ca
from ebok.store.tables import invoices as inv
from ebok.store.tables import partner_links as pl
from ebok.store.tables import points_of_delivery as pod

__all__ = [
    "LINK_METHODS",
    "PARTNER_KINDS",
    "BillingRepository",
    "PartnerRecord",
    "PointOwner",
    "PpeRecord",
]

PARTNER_KINDS = ("household", "business")
LINK_METHODS = ("invoice", "ppe", "staff")


@dataclass(frozen=True)
class PartnerRecord:
    number: str
    name: str
    kind: str
    nip: str | None
    pesel: str | None


@dataclass(frozen=True)
class PointOwner:
    partner_number: str
    household: bool  # or no partner record yet, which counts as one
    area: str | None


@dataclass(frozen=True)
class PpeRecord:
    ppe: str
    contract_account: str
    legacy_ppe: str | None
    area: str
    tariff: str


def _check(kind: str, value: str, allowed: tuple[str, ...]) -> None:
    # The CHECK constraint would refuse it too, but with a driver message naming no value.
    if value not in allowed:
        raise ValueError(f"{kind} must be one of {', '.join(allowed)}, got {value!r}")


# Built once (with the codes as an expanding parameter): every outage report runs it, and
# building the statement anew each time was a good part of the facade's cost in a storm.
_OWNER_OF_PPE = (
    select(ca.c.partner_number, bp.c.kind, pod.c.ppe, pod.c.area)
    .join(pod, pod.c.contract_account == ca.c.number)
    .outerjoin(bp, bp.c.number == ca.c.partner_number)
    .where(
        or_(
            pod.c.ppe.in_(bindparam("codes", expanding=True)),
            pod.c.legacy_ppe.in_(bindparam("codes", expanding=True)),
        )
    )
)


# Built once, as above: every invoice issued runs both, in the facade and in its notice.
_PARTNER = select(bp.c.number, bp.c.name, bp.c.kind, bp.c.nip, bp.c.pesel).where(
    bp.c.number == bindparam("number")
)
_PPES_OF_PARTNER = (
    select(pod.c.ppe, pod.c.contract_account, pod.c.legacy_ppe, pod.c.area, pod.c.tariff)
    .join(ca, ca.c.number == pod.c.contract_account)
    .where(ca.c.partner_number == bindparam("number"))
    .order_by(pod.c.contract_account, pod.c.ppe)
)


class BillingRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def _upsert(
        self, table: Any, key: str, values: dict[str, Any], keep: tuple[str, ...] = ()
    ) -> None:
        """Insert, or update every column but the key and those in ``keep``."""
        ins = insert_for(self._conn)(table).values(**values)
        changed = {name: ins.excluded[name] for name in values if name != key and name not in keep}
        await self._conn.execute(
            ins.on_conflict_do_update(index_elements=[table.c[key]], set_=changed)
        )

    # --- writes from the billing import -------------------------------------------------------

    async def upsert_partner(
        self,
        number: str,
        *,
        name: str,
        kind: str,
        nip: str | None,
        pesel: str | None,
        at: datetime,
    ) -> None:
        """Raises IntegrityError if ``nip`` belongs to another partner (see ``partner_by_nip``)."""
        _check("partner kind", kind, PARTNER_KINDS)
        values = {"number": number, "name": name, "kind": kind, "nip": nip, "pesel": pesel}
        await self._upsert(bp, "number", {**values, "updated_at": at})

    async def upsert_contract_account(
        self, number: str, *, partner_number: str, at: datetime
    ) -> None:
        values = {"number": number, "partner_number": partner_number, "updated_at": at}
        await self._upsert(ca, "number", values)

    async def upsert_ppe(
        self,
        ppe: str,
        *,
        contract_account: str,
        area: str,
        tariff: str,
        legacy_ppe: str | None,
        at: datetime,
    ) -> None:
        """A PPE may move to another contract account (a new tenant): the newest import wins.
        Raises IntegrityError if ``legacy_ppe`` names another point (see ``ppe_of_legacy``)."""
        values = {
            "ppe": ppe,
            "contract_account": contract_account,
            "legacy_ppe": legacy_ppe,
            "area": area,
            "tariff": tariff,
            "updated_at": at,
        }
        await self._upsert(pod, "ppe", values)

    async def upsert_invoice(
        self,
        number: str,
        *,
        partner_number: str,
        contract_account: str,
        gross_grosze: int,
        issue_date: date,
        at: datetime,
    ) -> None:
        values = {
            "number": number,
            "partner_number": partner_number,
            "contract_account": contract_account,
            "gross_grosze": gross_grosze,
            "issue_date": issue_date,
            "created_at": at,
        }
        await self._upsert(inv, "number", values, keep=("created_at",))

    # --- reads --------------------------------------------------------------------------------

    async def partner(self, number: str) -> PartnerRecord | None:
        row = (await self._conn.execute(_PARTNER, {"number": number})).mappings().one_or_none()
        return PartnerRecord(**row) if row else None

    async def partner_by_nip(self, nip: str) -> str | None:
        found = await self._conn.execute(select(bp.c.number).where(bp.c.nip == nip))
        return found.scalar_one_or_none()

    async def ppe_of_legacy(self, legacy_ppe: str) -> str | None:
        found = await self._conn.execute(select(pod.c.ppe).where(pod.c.legacy_ppe == legacy_ppe))
        return found.scalar_one_or_none()

    async def ppes_of_partner(self, number: str) -> list[PpeRecord]:
        rows = await self._conn.execute(_PPES_OF_PARTNER, {"number": number})
        return [PpeRecord(**row) for row in rows.mappings()]

    async def partner_of_ppe(self, code: str) -> str | None:
        """The partner behind a current PPE code (spaces allowed) or a legacy one."""
        owner = await self.owner_of_ppe(code)
        return owner.partner_number if owner is not None else None

    async def owner_of_ppe(self, code: str) -> PointOwner | None:
        """:meth:`partner_of_ppe` with the partner's kind and, if ``code`` is the point's
        current PPE as written, its grid area: one query where a report needs all three."""
        stripped = code.strip()
        if not stripped:
            return None
        # A legacy code is free-form, so it is looked up as written as well as compacted.
        candidates = sorted({stripped, stripped.replace(" ", "")})
        rows = (await self._conn.execute(_OWNER_OF_PPE, {"codes": candidates})).all()
        # Two rows would need one code to be one point's PPE and another's legacy code.
        partners = {row.partner_number for row in rows}
        if len(partners) != 1:
            return None
        return PointOwner(
            partner_number=partners.pop(),
            household=rows[0].kind in (None, "household"),
            area=next((row.area for row in rows if row.ppe == code), None),
        )

    async def invoice_matches(
        self, partner_number: str, invoice_number: str, gross_grosze: int, *, since: date
    ) -> bool:
        """All three agree and the invoice was issued on or after ``since`` (recent enough)."""
        found = await self._conn.execute(
            select(inv.c.number).where(
                inv.c.number == invoice_number.strip(),
                inv.c.partner_number == partner_number,
                inv.c.gross_grosze == gross_grosze,
                inv.c.issue_date >= since,
            )
        )
        return found.first() is not None

    # --- links between web accounts and partners ----------------------------------------------

    async def lock_partner(self, number: str) -> bool:
        """Hold the partner until the transaction ends, so rival link attempts for it queue up
        instead of both seeing "no link yet". False if billing does not know the partner."""
        # A no-op UPDATE locks the row on PostgreSQL and takes SQLite's single write lock: one
        # statement that serialises on both, where SELECT ... FOR UPDATE is ignored by SQLite.
        done = await self._conn.execute(
            update(bp).where(bp.c.number == number).values(updated_at=bp.c.updated_at)
        )
        return done.rowcount == 1

    async def link(self, account_id: str, partner_number: str, at: datetime, method: str) -> bool:
        """True if this call made the link; False if it existed (a retried activity)."""
        _check("link method", method, LINK_METHODS)
        # RETURNING, as rowcount of an INSERT comes back as -1 through async psycopg.
        made = await self._conn.execute(
            insert_for(self._conn)(pl)
            .values(
                account_id=account_id, partner_number=partner_number, linked_at=at, method=method
            )
            .on_conflict_do_nothing(index_elements=[pl.c.account_id, pl.c.partner_number])
            .returning(pl.c.account_id)
        )
        return made.first() is not None

    async def links_of_partner(self, number: str) -> list[str]:
        rows = await self._conn.execute(
            select(pl.c.account_id)
            .where(pl.c.partner_number == number)
            .order_by(pl.c.linked_at, pl.c.account_id)
        )
        return list(rows.scalars())

    async def partners_of_account(self, account_id: str) -> list[str]:
        rows = await self._conn.execute(
            select(pl.c.partner_number)
            .where(pl.c.account_id == account_id)
            .order_by(pl.c.linked_at, pl.c.partner_number)
        )
        return list(rows.scalars())
