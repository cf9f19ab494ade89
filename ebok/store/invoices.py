"""Invoices under the lifecycle: their details, the payments applied to them, the credits an
overpayment leaves, and the audit trail.

Every write is keyed on a natural key (invoice number, payment source and reference, event
name), so an activity that runs twice writes once. What an invoice stands at is always summed
from the payments, never kept as a running total that a retry could add to twice.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ebok.store.dialect import insert_for, insert_of
from ebok.store.tables import bound
from ebok.store.tables import contract_accounts as ca
from ebok.store.tables import invoice_events as ev
from ebok.store.tables import invoices as inv
from ebok.store.tables import online_payments as op
from ebok.store.tables import partner_credits as cr
from ebok.store.tables import payments as pay
from ebok.store.tables import unmatched_payments as um

__all__ = [
    "FINAL_STATES",
    "InvoiceRecord",
    "InvoiceRepository",
    "PaymentRecord",
    "UnknownAccount",
    "UnmatchedPayment",
]

FINAL_STATES = ("paid", "cancelled")


class UnknownAccount(LookupError):
    """The partner or contract account is not in billing (or they do not belong together)."""


@dataclass(frozen=True)
class InvoiceRecord:
    number: str
    partner_number: str
    contract_account: str
    gross_grosze: int
    issue_date: date
    due_date: date | None
    nrb: str | None
    net_grosze: int | None
    vat_grosze: int | None
    lines: dict[str, Any] | None  # {"period": [from, to], "items": [line, ...]}
    ppe: str | None
    correction_of: str | None
    amount_due_grosze: int | None
    state: str | None
    delivery: str | None
    pay_url: str | None

    @property
    def managed(self) -> bool:
        """Issued through the lifecycle (not only loaded from a billing file)."""
        return self.state is not None


@dataclass(frozen=True)
class PaymentRecord:
    source: str
    reference: str
    invoice_number: str
    amount_grosze: int
    received_at: datetime


@dataclass(frozen=True)
class UnmatchedPayment:
    """A payment no invoice could take, for staff to book by hand."""

    source: str  # "provider" or "bank"
    reference: str  # the provider's order id, the bank's transaction id
    amount_grosze: int
    why: str
    received_at: datetime | None
    recorded_at: datetime


@dataclass(frozen=True)
class Standing:
    amount_due: int
    paid: int
    credit: int


_COLUMNS = [inv.c[f] for f in InvoiceRecord.__dataclass_fields__]
_PAYMENT = [pay.c[f] for f in PaymentRecord.__dataclass_fields__]

# The statements every invoice runs, built once (per dialect where they have ON CONFLICT):
# building one cost about as much as running it. Parameters of an UPDATE are named apart
# from the columns it sets, as SQLAlchemy requires.
_GET = select(*_COLUMNS).where(inv.c.number == bindparam("number"))


def _invoice_update(**values: Any) -> Any:
    """An UPDATE of the invoice ``the_number`` that sets ``values`` and ``updated_at`` (``at``)."""
    return (
        update(inv)
        .where(inv.c.number == bindparam("the_number"))
        .values(updated_at=bindparam("at", type_=inv.c.updated_at.type), **values)
    )


_SET_STATE = _invoice_update(state=bindparam("new_state", type_=inv.c.state.type))
_SET_DELIVERY = _invoice_update(
    delivery=bindparam("channel", type_=inv.c.delivery.type),
    # None keeps the link the invoice has.
    pay_url=func.coalesce(bindparam("new_pay_url", type_=inv.c.pay_url.type), inv.c.pay_url),
)
_PAID = select(func.coalesce(func.sum(pay.c.amount_grosze), 0)).where(
    pay.c.invoice_number == bindparam("number")
)
_LOGGED = ("invoice_number", "event", "state", "detail", "actor", "at")
_CREDITED = ("invoice_number", "partner_number", "contract_account", "amount_grosze", "updated_at")


_OWNER = select(ca.c.partner_number).where(ca.c.number == bindparam("account"))
# An issued invoice's columns: the billing facts, then what the lifecycle adds.
_ISSUED = (
    "number partner_number contract_account gross_grosze issue_date due_date"
    " nrb net_grosze vat_grosze lines ppe correction_of"
    " state amount_due_grosze created_at updated_at"
).split()


@functools.cache
def _issue(dialect: str) -> Any:
    """Insert, or give an invoice known only from a billing import its lifecycle columns; an
    invoice already under the lifecycle is left alone."""
    ins = insert_of(dialect)(inv).values(bound(inv, _ISSUED))
    fill = {c: ins.excluded[c] for c in _ISSUED if c not in ("number", "created_at")}
    return ins.on_conflict_do_update(
        index_elements=[inv.c.number], set_=fill, where=inv.c.state.is_(None)
    ).returning(inv.c.number)


@functools.cache
def _log(dialect: str) -> Any:
    return (
        insert_of(dialect)(ev)
        .values(bound(ev, _LOGGED))
        .on_conflict_do_nothing(index_elements=[ev.c.invoice_number, ev.c.event])
        .returning(ev.c.event)
    )


@functools.cache
def _credit(dialect: str) -> Any:
    ins = insert_of(dialect)(cr).values(bound(cr, _CREDITED))
    return ins.on_conflict_do_update(
        index_elements=[cr.c.invoice_number],
        set_={"amount_grosze": ins.excluded.amount_grosze, "updated_at": ins.excluded.updated_at},
        where=cr.c.amount_grosze != ins.excluded.amount_grosze,
    )


class InvoiceRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    # --- the invoice ----------------------------------------------------------------------

    async def issue(self, values: dict[str, Any], at: datetime) -> bool:
        """Record an issued invoice; True if this call did. An invoice already under the
        lifecycle is left alone (issuing twice is one invoice); one known only from a billing
        import gains its lifecycle columns."""
        owner = await self._conn.execute(_OWNER, {"account": values["contract_account"]})
        if owner.scalar_one_or_none() != values["partner_number"]:
            raise UnknownAccount("contract account unknown or of another partner")
        made = await self._conn.execute(
            _issue(self._conn.dialect.name),
            {
                **values,
                "state": "issued",
                "amount_due_grosze": values["gross_grosze"],
                "created_at": at,
                "updated_at": at,
            },
        )
        return made.first() is not None

    async def get(self, number: str) -> InvoiceRecord | None:
        row = (await self._conn.execute(_GET, {"number": number})).mappings().first()
        return InvoiceRecord(**row) if row else None

    async def set_state(self, number: str, state: str, at: datetime) -> None:
        await self._conn.execute(_SET_STATE, {"the_number": number, "new_state": state, "at": at})

    async def pay_link(self, key: str) -> str | None:
        """The pay-online link kept for our payment key, if one was made."""
        found = await self._conn.execute(select(op.c.redirect_url).where(op.c.key == key))
        return found.scalar_one_or_none()

    async def keep_pay_link(
        self, key: str, number: str, amount: int, provider_ref: str, url: str, at: datetime
    ) -> None:
        """Keep a link the provider gave for ``key``; the first kept stays (a retry writes
        nothing new)."""
        await self._conn.execute(
            insert_for(self._conn)(op)
            .values(
                key=key,
                invoice_number=number,
                amount_grosze=amount,
                provider_ref=provider_ref,
                redirect_url=url,
                created_at=at,
            )
            .on_conflict_do_nothing(index_elements=[op.c.key])
        )

    async def set_delivery(
        self, number: str, channel: str, at: datetime, pay_url: str | None = None
    ) -> None:
        await self._conn.execute(
            _SET_DELIVERY,
            {"the_number": number, "channel": channel, "at": at, "new_pay_url": pay_url},
        )

    async def set_amount_due(self, number: str, grosze: int, at: datetime) -> None:
        await self._conn.execute(
            update(inv)
            .where(inv.c.number == number)
            .values(amount_due_grosze=grosze, updated_at=at)
        )

    async def open_for_nrb(self, nrb: str, *, settled: bool = False) -> list[InvoiceRecord]:
        """Unsettled lifecycle invoices paid into this individual account number, oldest due
        first: where a bank transfer without a usable title goes. With ``settled``, the paid
        and cancelled ones too."""
        where = [inv.c.nrb == nrb, inv.c.state.is_not(None)]
        if not settled:
            where.append(inv.c.state.not_in(FINAL_STATES))
        rows = await self._conn.execute(
            select(*_COLUMNS).where(*where).order_by(inv.c.due_date, inv.c.number)
        )
        return [InvoiceRecord(**r) for r in rows.mappings()]

    async def of_partner(self, partner_number: str) -> list[InvoiceRecord]:
        rows = await self._conn.execute(
            select(*_COLUMNS)
            .where(inv.c.partner_number == partner_number, inv.c.state.is_not(None))
            .order_by(inv.c.contract_account, inv.c.due_date, inv.c.number)
        )
        return [InvoiceRecord(**r) for r in rows.mappings()]

    # --- payments and credits -------------------------------------------------------------

    async def add_payment(self, payment: PaymentRecord, at: datetime, by: str | None) -> bool:
        """True if this call applied it; False if that (source, reference) already was."""
        made = await self._conn.execute(
            insert_for(self._conn)(pay)
            .values(
                source=payment.source,
                reference=payment.reference,
                invoice_number=payment.invoice_number,
                amount_grosze=payment.amount_grosze,
                received_at=payment.received_at,
                recorded_at=at,
                recorded_by=by,
            )
            .on_conflict_do_nothing(index_elements=[pay.c.source, pay.c.reference])
            .returning(pay.c.reference)
        )
        return made.first() is not None

    async def payment(self, source: str, reference: str) -> PaymentRecord | None:
        found = await self._conn.execute(
            select(*_PAYMENT).where(pay.c.source == source, pay.c.reference == reference)
        )
        row = found.mappings().first()
        return PaymentRecord(**row) if row else None

    async def payments_of(self, numbers: list[str]) -> list[PaymentRecord]:
        rows = await self._conn.execute(
            select(*_PAYMENT)
            .where(pay.c.invoice_number.in_(numbers))
            .order_by(pay.c.received_at, pay.c.reference)
        )
        return [PaymentRecord(**r) for r in rows.mappings()]

    async def standing(self, number: str, at: datetime) -> Standing:
        """Amount due, paid so far and the credit the overpayment leaves; the credit row is
        brought up to date on the way (an upsert, so a retry writes the same)."""
        invoice = await self.get(number)
        assert invoice is not None and invoice.amount_due_grosze is not None
        paid = (await self._conn.execute(_PAID, {"number": number})).scalar_one()
        credit = max(int(paid) - invoice.amount_due_grosze, 0)
        await self._conn.execute(
            _credit(self._conn.dialect.name),
            {
                "invoice_number": number,
                "partner_number": invoice.partner_number,
                "contract_account": invoice.contract_account,
                "amount_grosze": credit,
                "updated_at": at,
            },
        )
        return Standing(invoice.amount_due_grosze, int(paid), credit)

    async def credits_of_partner(self, partner_number: str) -> dict[str, int]:
        """Contract account → credit from overpayments."""
        rows = await self._conn.execute(
            select(cr.c.contract_account, func.sum(cr.c.amount_grosze))
            .where(and_(cr.c.partner_number == partner_number, cr.c.amount_grosze > 0))
            .group_by(cr.c.contract_account)
        )
        return {account: int(total) for account, total in rows}

    # --- payments to book by hand ---------------------------------------------------------

    async def note_unmatched(self, payment: UnmatchedPayment) -> bool:
        """List a payment for staff; True if this call did (the same one again is kept as
        first listed)."""
        made = await self._conn.execute(
            insert_for(self._conn)(um)
            .values(**dataclasses.asdict(payment) | {"why": payment.why[:200]})
            .on_conflict_do_nothing(index_elements=[um.c.source, um.c.reference])
            .returning(um.c.reference)
        )
        return made.first() is not None

    async def unmatched(self, since: datetime | None = None) -> list[UnmatchedPayment]:
        """The payments listed for staff, oldest first; with ``since``, those listed since."""
        query = select(*(um.c[f] for f in UnmatchedPayment.__dataclass_fields__))
        if since is not None:
            query = query.where(um.c.recorded_at >= since)
        rows = await self._conn.execute(query.order_by(um.c.recorded_at, um.c.reference))
        return [UnmatchedPayment(**r) for r in rows.mappings()]

    # --- audit ----------------------------------------------------------------------------

    async def log(
        self, number: str, event: str, state: str, detail: str, actor: str, at: datetime
    ) -> bool:
        """An audit row; the same (invoice, event) twice is written once."""
        made = await self._conn.execute(
            _log(self._conn.dialect.name),
            {
                "invoice_number": number,
                "event": event,
                "state": state,
                "detail": detail[:500],
                "actor": actor,
                "at": at,
            },
        )
        return made.first() is not None

    async def events(self, number: str) -> list[tuple[str, str, str, str]]:
        """(event, state, actor, detail), oldest first."""
        rows = await self._conn.execute(
            select(ev.c.event, ev.c.state, ev.c.actor, ev.c.detail)
            .where(ev.c.invoice_number == number)
            .order_by(ev.c.at, ev.c.event)
        )
        return [(r.event, r.state, r.actor, r.detail) for r in rows]
