"""The personal data of a web account, declared once: where it lives, what the customer is
shown of it (GDPR art. 15/20, the export) and what happens to it when the account is deleted
(art. 17, the erasure). Both read :data:`REGISTRY`; a process that adds a table of
per-account data adds one :class:`PersonalData` here and is in both at once
(``tests/store/test_personal_data.py`` fails for a table that names an account and is not
declared).

Erasing is one of three things per table: the rows go (``erase="delete"``), or the rows stay,
tied to the business partner, with their personal columns overwritten (``erase={column:
value}``), or as they are (``erase={}``), because a law keeps the record: art. 17(3)(b) and
(e) (see docs/account-deletion.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Table, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ebok.store import tables as t

__all__ = [
    "AT",
    "REGISTRY",
    "Owner",
    "PersonalData",
    "erase_account",
    "export_account",
    "owner_of",
    "reports_of",
]


@dataclass(frozen=True)
class Owner:
    """Whose data: the account, and what its rows may be found by besides its id."""

    account_id: str
    email_key: str | None  # the address, lower-cased (anonymous outage reports carry it)


class _At:
    """Stands for the erasure's time in an ``erase`` mapping."""

    def __repr__(self) -> str:
        return "AT"


AT = _At()
Where = Callable[[Owner], ColumnElement[bool]]


@dataclass(frozen=True)
class PersonalData:
    section: str  # the export's name for it
    table: Table
    where: Where  # the owner's rows
    columns: tuple[str, ...]  # what the export shows (never secrets: hashes, salts)
    erase: Literal["delete"] | Mapping[str, object]
    kept_because: str = ""  # for rows that stay: the law that keeps them


def _cols(names: str) -> tuple[str, ...]:
    return tuple(names.split())


def _by(column: Any) -> Where:
    return lambda o: column == o.account_id


def reports_of(o: Owner) -> ColumnElement[bool]:
    """Reports made from the account, and anonymous ones left with its address."""
    r = t.outage_reports.c
    mine = r.account_id == o.account_id
    if o.email_key is None:
        return mine
    return or_(mine, func.lower(r.email) == o.email_key)


def _report_ids(o: Owner) -> Any:
    return select(t.outage_reports.c.id).where(reports_of(o))


def _reset_ids(o: Owner) -> Any:
    return select(t.password_resets.c.id).where(t.password_resets.c.account_id == o.account_id)


def _tokens(o: Owner) -> ColumnElement[bool]:
    # Subjects are the account (activation, deletion), "<account>.<key>" for a later process,
    # or a password reset's id.
    s = t.one_time_tokens.c.subject_id
    return or_(
        s == o.account_id,
        s.startswith(o.account_id + ".", autoescape=True),
        s.in_(_reset_ids(o)),
    )


def _mail(o: Owner) -> ColumnElement[bool]:
    s = t.sent_mail.c.subject_id
    return or_(s == o.account_id, s.in_(_report_ids(o)), s.in_(_reset_ids(o)))


REGISTRY: tuple[PersonalData, ...] = (
    PersonalData(
        "profile",
        t.accounts,
        _by(t.accounts.c.id),
        _cols("id email login language status terms_version terms_accepted_at created_at"),
        "delete",
    ),
    PersonalData(
        "registration",
        t.registrations,
        _by(t.registrations.c.id),
        _cols(
            "id email login language status terms_version terms_accepted_at created_at closed_at"
        ),
        # The row keeps the id, outcome and dates: what a registration purge keeps.
        {
            "email": None,
            "login": None,
            "password_hash": None,
            "status": "deleted",
            "purged_at": AT,
        },
        kept_because="no personal data left: the id and dates prove the account was deleted "
        "(GDPR art. 5(2), accountability)",
    ),
    PersonalData(
        "partner_links",
        t.partner_links,
        _by(t.partner_links.c.account_id),
        ("partner_number", "linked_at", "method"),
        "delete",
    ),
    PersonalData(
        "einvoice_consents",
        t.einvoice_consents,
        _by(t.einvoice_consents.c.account_id),
        _cols(
            "id partner_number email language terms_version channel requested_at granted_at "
            "withdrawn_at withdrawn_channel"
        ),
        {"email": ""},
        kept_because="the partner's acceptance of e-invoices (VAT act art. 106n) documents how "
        "invoices kept for 5 years were delivered; the address is erased",
    ),
    PersonalData(
        "outage_reports",
        t.outage_reports,
        reports_of,
        _cols(
            "id ppe area partner_number email phone language description incident_id "
            "reported_at attached_at power_back_at closed_at"
        ),
        {
            "email": None,
            "phone": None,
            "description": "",
            "reporter_key": "erased",
            "open_key": None,
            "account_id": None,
        },
        kept_because="the PPE's interruptions and bonifikata (tariff regulation Dz.U. 2022 "
        "poz. 2505 § 43, docs/outage-compensation.md) are the partner's; who reported and "
        "what they wrote is erased",
    ),
    PersonalData(
        "outage_report_notes",
        t.outage_report_notes,
        lambda o: t.outage_report_notes.c.report_id.in_(_report_ids(o)),
        ("report_id", "serial", "text", "added_at"),
        "delete",
    ),
    PersonalData(
        "profile_details",
        t.account_profiles,
        _by(t.account_profiles.c.account_id),
        _cols(
            "phone street postal_code city notify_invoices notify_reminders notify_outages "
            "notify_planned_works updated_at"
        ),
        "delete",
    ),
    PersonalData(
        "email_changes",
        t.email_changes,
        _by(t.email_changes.c.account_id),
        _cols("id old_email new_email language state requested_at changed_at undone_at closed_at"),
        "delete",
    ),
    PersonalData(
        "rodo_consents",
        t.rodo_consents,
        _by(t.rodo_consents.c.account_id),
        _cols("seq purpose action version channel text_sha256 at"),
        {},
        kept_because="the proof of each consent given and withdrawn (GDPR art. 7(1)), kept for "
        "establishing or defending claims (art. 17(3)(e)); it holds no contact data",
    ),
    PersonalData(
        # Billing owns the partner's data; what it took is in its own records. A change it
        # has not taken yet goes too: the account's phone and address leave the store.
        "billing_changes",
        t.billing_outbox,
        _by(t.billing_outbox.c.account_id),
        _cols("id partner_number field value changed_at batch"),
        "delete",
    ),
    PersonalData(
        "password_resets",
        t.password_resets,
        _by(t.password_resets.c.account_id),
        _cols("id reason requested_at changed_at"),
        "delete",
    ),
    PersonalData(
        # A new password's hash waiting for its link (never exported: a secret).
        "password_reset_pending",
        t.password_reset_hashes,
        lambda o: t.password_reset_hashes.c.reset_id.in_(_reset_ids(o)),
        ("reset_id", "created_at"),
        "delete",
    ),
    PersonalData(
        "failed_sign_ins",
        t.sign_in_throttle,
        lambda o: t.sign_in_throttle.c.subject_key == o.account_id,
        _cols("failures blocked_until last_failure_at"),
        "delete",
    ),
    PersonalData(
        "links",
        t.one_time_tokens,
        _tokens,
        ("purpose", "serial", "issued_at", "expires_at", "used_at", "revoked_at"),
        "delete",
    ),
    PersonalData(
        "mails_sent",
        t.sent_mail,
        _mail,
        ("kind", "subject", "message_id", "sent_at"),
        "delete",
    ),
)


def _json(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


async def owner_of(conn: AsyncConnection, account_id: str) -> Owner | None:
    """The owner of an account that exists; None once it has been erased (or never was)."""
    a = t.accounts.c
    email = (await conn.execute(select(a.email_key).where(a.id == account_id))).scalar_one_or_none()
    return Owner(account_id, email) if email is not None else None


async def export_account(conn: AsyncConnection, owner: Owner) -> dict[str, list[dict[str, Any]]]:
    """Every declared section's rows of the owner, as JSON-ready dicts, in a stable order."""
    out: dict[str, list[dict[str, Any]]] = {}
    for item in REGISTRY:
        cols = [item.table.c[c] for c in item.columns]
        keys = list(item.table.primary_key.columns)
        rows = await conn.execute(select(*cols).where(item.where(owner)).order_by(*keys))
        out[item.section] = [{k: _json(v) for k, v in row.items()} for row in rows.mappings().all()]
    return out


async def erase_account(conn: AsyncConnection, owner: Owner, at: datetime) -> dict[str, int]:
    """Apply every declaration, in the registry's reverse order (rows found through another
    table's go before it changes); rows touched per table. One transaction: the caller's."""
    done: dict[str, int] = {}
    for item in reversed(REGISTRY):
        if item.erase == "delete":
            result = await conn.execute(delete(item.table).where(item.where(owner)))
        elif not item.erase:  # kept as it is (kept_because says why)
            continue
        else:
            values = {k: (at if v is AT else v) for k, v in item.erase.items()}
            result = await conn.execute(
                update(item.table).where(item.where(owner)).values(**values)
            )
        done[item.table.name] = done.get(item.table.name, 0) + result.rowcount
    return done
