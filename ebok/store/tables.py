"""The schema, as SQLAlchemy Core tables. Alembic migrations in ``migrations/`` create it.

Every natural key has a unique constraint: the store, not the code around it, is what keeps
an activity that runs twice from writing twice.
"""

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    bindparam,
)
from sqlalchemy.types import TypeDecorator


def bound(table: Table, columns: Iterable[str]) -> dict[str, Any]:
    """VALUES for a statement built once: each column a parameter of its own name and type."""
    return {c: bindparam(c, type_=table.c[c].type) for c in columns}


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (which keeps no zone) too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use an aware one (UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _ts(name: str, nullable: bool = True) -> Column[datetime]:
    return Column(name, UtcDateTime(), nullable=nullable)


registrations = Table(
    "registrations",
    metadata,
    Column("id", String(40), primary_key=True),
    # Personal data: nulled by the purge, so a purged row keeps only its outcome.
    Column("email", String(320)),
    Column("login", String(64)),
    Column("password_hash", String(255)),
    Column("language", String(2), nullable=False),
    Column("status", String(32), nullable=False),
    Column("terms_version", String(32)),
    _ts("terms_accepted_at"),
    _ts("created_at", nullable=False),
    _ts("closed_at"),
    _ts("purged_at"),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("registration_id", String(40), nullable=False, unique=True),
    Column("email", String(320), nullable=False),
    # Lower-cased address: one account per mailbox whatever the capitalisation.
    Column("email_key", String(320), nullable=False, unique=True),
    Column("login", String(64), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("language", String(2), nullable=False),
    Column("status", String(32), nullable=False),
    Column("terms_version", String(32), nullable=False),
    _ts("terms_accepted_at", nullable=False),
    _ts("created_at", nullable=False),
    # +1 at every password change or reset: the portal's sessions carry the number they were
    # opened with, and one with an older number has ended.
    Column("credential_generation", Integer, nullable=False, server_default="1"),
)

# Single-use links (activation, later e-invoice consent): only the SHA-256 of a token is kept.
one_time_tokens = Table(
    "one_time_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("salt", String(32), nullable=False),  # with the server's key, re-derives the token
    Column("purpose", String(32), nullable=False),
    Column("subject_id", String(40), nullable=False),
    Column("serial", Integer, nullable=False),
    _ts("issued_at", nullable=False),
    _ts("expires_at", nullable=False),
    _ts("used_at"),
    # Who redeemed it (the caller's idempotency key), so a retried redemption is recognised.
    Column("used_by", String(64)),
    _ts("revoked_at"),
    UniqueConstraint("purpose", "subject_id", "serial"),
)

# Mail handed to the relay, by Message-ID: a retried activity does not send twice.
sent_mail = Table(
    "sent_mail",
    metadata,
    Column("message_id", String(255), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("subject_id", String(40), nullable=False),
    _ts("sent_at", nullable=False),
    # The Subject line (RFC 5322 caps a line at 998 characters): the account's data export
    # lists the mails sent to it. Erased with the account (ebok/store/personal_data.py).
    Column("subject", String(998)),
    Index(None, "subject_id"),
)


# --- billing: what the billing system knows of customers, loaded by ``ebok import partners`` ----
# Foreign keys are named here because the naming convention above has no "fk" entry, and SQLite
# batch migrations can only drop a constraint they can name.

business_partners = Table(
    "business_partners",
    metadata,
    Column("number", String(10), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(16), nullable=False),
    # Several NULLs are allowed by a unique constraint on both databases: households have none.
    Column("nip", String(10), unique=True),
    Column("pesel", String(11)),
    _ts("updated_at", nullable=False),
    CheckConstraint("kind IN ('household', 'business')", name="ck_business_partners_kind"),
)

contract_accounts = Table(
    "contract_accounts",
    metadata,
    Column("number", String(12), primary_key=True),
    Column(
        "partner_number",
        String(10),
        ForeignKey("business_partners.number", name="fk_contract_accounts_partner_number"),
        nullable=False,
    ),
    _ts("updated_at", nullable=False),
    Index(None, "partner_number"),
)

points_of_delivery = Table(
    "points_of_delivery",
    metadata,
    Column("ppe", String(18), primary_key=True),
    Column(
        "contract_account",
        String(12),
        ForeignKey("contract_accounts.number", name="fk_points_of_delivery_contract_account"),
        nullable=False,
    ),
    # The pre-renumbering code still printed on old invoices; it names one point only.
    Column("legacy_ppe", String(40), unique=True),
    Column("area", String(32), nullable=False),
    Column("tariff", String(8), nullable=False),
    _ts("updated_at", nullable=False),
    Index(None, "contract_account"),
)

invoices = Table(
    "invoices",
    metadata,
    Column("number", String(40), primary_key=True),
    Column(
        "partner_number",
        String(10),
        ForeignKey("business_partners.number", name="fk_invoices_partner_number"),
        nullable=False,
    ),
    Column(
        "contract_account",
        String(12),
        ForeignKey("contract_accounts.number", name="fk_invoices_contract_account"),
        nullable=False,
    ),
    Column("gross_grosze", BigInteger, nullable=False),
    Column("issue_date", Date, nullable=False),
    _ts("created_at", nullable=False),
    # The lifecycle's columns (revision 0004): NULL on invoices only known from a billing
    # import, which no workflow manages.
    Column("due_date", Date),
    Column("nrb", String(26)),
    Column("net_grosze", BigInteger),
    Column("vat_grosze", BigInteger),
    Column("lines", JSON),
    Column("ppe", String(18)),
    Column("correction_of", String(40)),
    # What is owed after corrections (0 once cancelled); payments are summed from `payments`.
    Column("amount_due_grosze", BigInteger),
    Column("state", String(32)),
    Column("delivery", String(8)),
    Column("pay_url", String(500)),
    _ts("updated_at"),
    Index(None, "partner_number"),
    Index(None, "contract_account"),
)

# Which web accounts may act for which business partner; a partner may have several accounts
# (household members), an account several partners (a landlord).
partner_links = Table(
    "partner_links",
    metadata,
    Column("account_id", String(40), primary_key=True),
    Column(
        "partner_number",
        String(10),
        ForeignKey("business_partners.number", name="fk_partner_links_partner_number"),
        primary_key=True,
    ),
    _ts("linked_at", nullable=False),
    Column("method", String(16), nullable=False),
    CheckConstraint("method IN ('invoice', 'ppe', 'staff')", name="ck_partner_links_method"),
    Index(None, "partner_number"),
)

# --- e-invoice consent: the auditable record of a partner's choice of e-mail over paper ---------
# One row per consent, kept after withdrawal: when, which terms, which channel, which address.
# At most one active (granted, not withdrawn) consent per partner, enforced by a partial index.

einvoice_consents = Table(
    "einvoice_consents",
    metadata,
    Column("id", String(40), primary_key=True),
    Column(
        "partner_number",
        String(10),
        ForeignKey("business_partners.number", name="fk_einvoice_consents_partner_number"),
        nullable=False,
    ),
    Column("account_id", String(40), nullable=False),
    # Where e-invoices go; personal data, never leaves the store except to the mail adapter.
    Column("email", String(320), nullable=False),
    Column("language", String(2), nullable=False),
    Column("terms_version", String(32), nullable=False),
    Column("channel", String(16), nullable=False),
    _ts("requested_at", nullable=False),
    _ts("granted_at", nullable=False),
    _ts("withdrawn_at"),
    Column("withdrawn_channel", String(16)),
    Index(
        "uq_einvoice_consents_active_partner",
        "partner_number",
        unique=True,
        sqlite_where=Column("withdrawn_at").is_(None),
        postgresql_where=Column("withdrawn_at").is_(None),
    ),
)


# --- the invoice lifecycle (revision 0004) ----------------------------------------------------

# Each payment applied once: the provider's order id, the bank statement's transaction id, or
# the reference staff typed in (prefixed with the invoice number: a cash-desk receipt number is
# unique only there). The primary key is what makes a second application a no-op.
payments = Table(
    "payments",
    metadata,
    Column("source", String(16), primary_key=True),
    Column("reference", String(120), primary_key=True),
    Column(
        "invoice_number",
        String(40),
        ForeignKey("invoices.number", name="fk_payments_invoice_number"),
        nullable=False,
    ),
    Column("amount_grosze", BigInteger, nullable=False),
    _ts("received_at", nullable=False),
    _ts("recorded_at", nullable=False),
    Column("recorded_by", String(64)),
    CheckConstraint("source IN ('provider', 'bank', 'staff')", name="ck_payments_source"),
    CheckConstraint("amount_grosze > 0", name="ck_payments_amount"),
    Index(None, "invoice_number"),
)

# Pay-online links made for what was left to pay after a partial payment or a correction: the
# provider gives a link once per key, so it is kept to be handed out again.
online_payments = Table(
    "online_payments",
    metadata,
    Column("key", String(64), primary_key=True),  # ours, the provider's idempotency key
    Column(
        "invoice_number",
        String(40),
        ForeignKey("invoices.number", name="fk_online_payments_invoice_number"),
        nullable=False,
    ),
    Column("amount_grosze", BigInteger, nullable=False),
    Column("provider_ref", String(120), nullable=False),
    Column("redirect_url", String(500), nullable=False),
    _ts("created_at", nullable=False),
    Index(None, "invoice_number"),
)

# Payments that reached us but no invoice could take: a provider notification for an order not
# made under our key, or for an invoice whose process has ended; a bank transfer no open invoice
# matched. Staff book them by hand (``ebok invoice unmatched`` lists them). One row per
# (source, reference), like ``payments``: the provider's retries and a statement loaded twice
# list a payment once.
unmatched_payments = Table(
    "unmatched_payments",
    metadata,
    Column("source", String(16), primary_key=True),
    Column("reference", String(120), primary_key=True),
    Column("amount_grosze", BigInteger, nullable=False),
    Column("why", String(200), nullable=False),
    _ts("received_at"),
    _ts("recorded_at", nullable=False),
    CheckConstraint("source IN ('provider', 'bank')", name="ck_unmatched_payments_source"),
    CheckConstraint("amount_grosze > 0", name="ck_unmatched_payments_amount"),
    Index(None, "recorded_at"),
)

# Overpayment of one invoice, kept per invoice so recomputing it is an idempotent upsert.
partner_credits = Table(
    "partner_credits",
    metadata,
    Column(
        "invoice_number",
        String(40),
        ForeignKey("invoices.number", name="fk_partner_credits_invoice_number"),
        primary_key=True,
    ),
    Column("partner_number", String(10), nullable=False),
    Column("contract_account", String(12), nullable=False),
    Column("amount_grosze", BigInteger, nullable=False),
    _ts("updated_at", nullable=False),
    Index(None, "partner_number"),
)

# Letters to print and post; ``ebok paper export`` reads the unexported ones. The address is
# read from billing at export time, so nothing personal waits here.
paper_queue = Table(
    "paper_queue",
    metadata,
    Column("id", String(120), primary_key=True),  # invoice, kind and serial: one letter each
    Column("invoice_number", String(40), nullable=False),
    Column("partner_number", String(10), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("details", JSON, nullable=False),
    _ts("queued_at", nullable=False),
    _ts("exported_at"),
    Index(None, "exported_at"),
)

# Audit trail of an invoice: issue, state changes, corrections, complaints, waivers, cancel.
invoice_events = Table(
    "invoice_events",
    metadata,
    Column("invoice_number", String(40), primary_key=True),
    Column("event", String(64), primary_key=True),  # natural key within the invoice
    Column("state", String(32), nullable=False),
    Column("detail", String(500), nullable=False),
    Column("actor", String(64), nullable=False),
    _ts("at", nullable=False),
)

# Supply suspension requests filed with the grid operator for non-payment, one per PPE.
suspension_requests = Table(
    "suspension_requests",
    metadata,
    Column("key", String(120), primary_key=True),
    Column("invoice_number", String(40), nullable=False),
    Column("ppe", String(18), nullable=False),
    Column("reference", String(64), nullable=False),
    _ts("notice_served_at", nullable=False),
    _ts("not_before", nullable=False),
    _ts("filed_at", nullable=False),
    _ts("withdrawn_at"),
    Column("withdrawn_reason", String(200)),
    Index(None, "invoice_number"),
)

# Registered letters (the disconnection notice of Energy Law art. 6b ust. 3) and what the post
# reported of them; ``received_on`` is the day the notice period runs from (ebok.models.post).
postal_letters = Table(
    "postal_letters",
    metadata,
    Column("key", String(64), primary_key=True),  # invoice and demand serial: one letter each
    Column("invoice_number", String(40), nullable=False),
    Column("tracking_id", String(64), nullable=False, unique=True),
    Column("state", String(32), nullable=False),
    Column("posted_on", Date, nullable=False),
    Column("delivered_on", Date),
    Column("refused_on", Date),
    Column("notice_left_on", Date),
    Column("collected_on", Date),
    Column("returned_on", Date),
    Column("received_on", Date),
    _ts("sent_at", nullable=False),
    _ts("updated_at", nullable=False),
    Index(None, "invoice_number"),
)

# Where a partner's registered letters go: personal data, read only by the letter activity.
postal_addresses = Table(
    "postal_addresses",
    metadata,
    Column("partner_number", String(10), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("street", String(200), nullable=False),
    Column("postal_code", String(6), nullable=False),
    Column("city", String(100), nullable=False),
    _ts("updated_at", nullable=False),
)

# --- outage reporting: reports with the reporter's contact data, incidents, compensation --------

outage_reports = Table(
    "outage_reports",
    metadata,
    Column("id", String(40), primary_key=True),  # also the report workflow's id
    # Who reported: "account:<id>" or "contact:<address or phone>"; with the PPE, and only
    # while the report is open, unique: a customer reporting twice gets the same report.
    Column("reporter_key", String(340), nullable=False),
    Column("open_key", String(360), unique=True),
    Column("account_id", String(40)),
    Column("partner_number", String(10)),
    Column("household", Boolean, nullable=False),
    # Personal data: where the mails go. Never leaves the store except to the mail adapter.
    Column("email", String(320)),
    Column("phone", String(20)),
    Column("language", String(2), nullable=False),
    Column("ppe", String(18), nullable=False),
    Column("area", String(64)),
    Column("description", String(2000), nullable=False),
    Column("incident_id", String(120)),
    Column("moved_from", String(120)),  # the incident it belonged to before a merge
    # The serial of the last incident notice mailed to this reporter (0: none yet).
    Column("notice_serial", Integer, nullable=False, default=0),
    _ts("reported_at", nullable=False),
    _ts("attached_at"),
    _ts("power_back_at"),
    _ts("closed_at"),
    Index(None, "incident_id", "id"),
)

outage_report_notes = Table(
    "outage_report_notes",
    metadata,
    Column("report_id", String(40), primary_key=True),
    Column("serial", Integer, primary_key=True),
    Column("text", String(2000), nullable=False),
    _ts("added_at", nullable=False),
)

outage_incidents = Table(
    "outage_incidents",
    metadata,
    Column("id", String(120), primary_key=True),  # the incident workflow's id
    Column("area", String(64), nullable=False),
    # The area while this is the incident new unexplained reports there join; NULL after.
    Column("open_key", String(64), unique=True),
    Column("dso_reference", String(64), unique=True),
    Column("phase", String(24), nullable=False),
    _ts("opened_at", nullable=False),
    _ts("closed_at"),
)

# Bonifikata: an unplanned interruption over the legal limit, once per incident and PPE.
outage_compensations = Table(
    "outage_compensations",
    metadata,
    Column("incident_id", String(120), primary_key=True),
    Column("ppe", String(18), primary_key=True),
    Column("report_id", String(40), nullable=False),
    Column("partner_number", String(10)),
    _ts("interruption_start", nullable=False),
    _ts("interruption_end"),
    _ts("recorded_at", nullable=False),
    Index(None, "ppe"),
)

# Interruptions per PPE, once per incident (the key makes a repeated activity count once), and
# the calendar year's totals the regulation's yearly limits are checked against.
outage_interruptions = Table(
    "outage_interruptions",
    metadata,
    Column("incident_id", String(120), primary_key=True),
    Column("ppe", String(18), primary_key=True),
    Column("kind", String(16), nullable=False),  # planned | unplanned
    _ts("started_at", nullable=False),
    _ts("ended_at", nullable=False),
    _ts("recorded_at", nullable=False),
)

outage_year_totals = Table(
    "outage_year_totals",
    metadata,
    Column("ppe", String(18), primary_key=True),
    Column("year", Integer, primary_key=True),  # calendar year in Polish time
    Column("planned_seconds", BigInteger, nullable=False, default=0),
    Column("unplanned_seconds", BigInteger, nullable=False, default=0),
)

# --- the HTTP API's callers ----------------------------------------------------------------------

# One row per API key of a calling service (the portal's back end, billing, ...). Only the key's
# SHA-256 is kept: the key is 256 random bits, so a plain digest cannot be searched back. A
# service has at most two keys in force (rotation: the new one is made before the old is revoked).
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("service", String(64), nullable=False),
    Column("scopes", String(200), nullable=False),  # comma-separated, sorted
    Column("key_hash", String(64), nullable=False, unique=True),
    _ts("created_at", nullable=False),
    _ts("revoked_at"),
    Index(None, "service"),
)

# The first answer to a POST sent with an ``Idempotency-Key`` header, per calling service and
# key, for 24 hours: a retry with the same body gets it again instead of a second effect. A row
# without a status is a request still running.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("service", String(64), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer),
    Column("media_type", String(100)),
    Column("body", LargeBinary),
    _ts("created_at", nullable=False),
    Index(None, "created_at"),
)

# --- sign-in and password reset ------------------------------------------------------------------

# A run of failed sign-ins per account id, or per keyed hash ("?" + hex) of a login or address
# that has no account, so that a lock looks the same whether or not the account exists.
sign_in_throttle = Table(
    "sign_in_throttle",
    metadata,
    Column("subject_key", String(40), primary_key=True),
    Column("failures", Integer, nullable=False),
    _ts("blocked_until"),
    Column("lock_mailed", Boolean, nullable=False),
    _ts("last_failure_at", nullable=False),
)

# Failed sign-ins per client address (keyed hash of the IPv4 address or IPv6 /64) and window.
sign_in_ip_failures = Table(
    "sign_in_ip_failures",
    metadata,
    Column("ip_key", String(64), primary_key=True),
    _ts("window_start", nullable=False),
    Column("failures", Integer, nullable=False),
    Index(None, "window_start"),
)

# One row per password-reset cycle: the id is the subject of its mailed links.
password_resets = Table(
    "password_resets",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("account_id", String(40), nullable=False),
    Column("reason", String(16), nullable=False),
    _ts("requested_at", nullable=False),
    _ts("changed_at"),
    Index(None, "account_id"),
)

# The new password's hash, made by the facade, waiting for its redemption to use the link:
# the hash never travels through Temporal; the workflow names the redemption only.
password_reset_hashes = Table(
    "password_reset_hashes",
    metadata,
    Column("redemption_id", String(64), primary_key=True),
    Column("reset_id", String(32), nullable=False),
    Column("password_hash", String(255), nullable=False),
    _ts("created_at", nullable=False),
    Index(None, "reset_id"),
)

# --- the customer account: profile, e-mail changes, RODO consents, billing's outbox (0012) -------

# The account's own data beside ``accounts``: phone (E.164), correspondence address, and which
# mails the customer wants. One row per account, made at the first change.
account_profiles = Table(
    "account_profiles",
    metadata,
    Column("account_id", String(40), primary_key=True),
    Column("phone", String(16)),
    Column("street", String(120)),
    Column("postal_code", String(6)),
    Column("city", String(60)),
    Column("notify_invoices", Boolean, nullable=False),
    Column("notify_reminders", Boolean, nullable=False),
    Column("notify_outages", Boolean, nullable=False),
    Column("notify_planned_works", Boolean, nullable=False),
    _ts("updated_at", nullable=False),
)

# One row per e-mail change: the addresses (personal data, never in Temporal) and what became
# of the change. ``old_email`` is where the undo link goes and what an undo restores.
email_changes = Table(
    "email_changes",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("account_id", String(40), nullable=False),
    Column("old_email", String(320), nullable=False),
    Column("new_email", String(320), nullable=False),
    Column("language", String(2), nullable=False),
    Column("state", String(16), nullable=False),
    _ts("requested_at", nullable=False),
    _ts("changed_at"),
    _ts("undone_at"),
    _ts("unlocked_at"),
    Column("unlocked_by", String(64)),
    _ts("closed_at"),
    Index(None, "account_id"),
)

# RODO consents, append-only: every giving and every withdrawal is a row of its own, with the
# version and the SHA-256 of the text the customer was shown. The newest row of a purpose is
# where it stands.
rodo_consents = Table(
    "rodo_consents",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(40), nullable=False),
    Column("purpose", String(32), nullable=False),
    Column("action", String(16), nullable=False),
    Column("version", String(32), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("text_sha256", String(64)),
    _ts("at", nullable=False),
    CheckConstraint("action IN ('given', 'withdrawn')", name="ck_rodo_consents_action"),
    Index(None, "account_id", "purpose"),
)

# Changes of data billing owns (a partner's phone, correspondence address), for billing to
# read with ``ebok export changes``. A row is taken by exactly one export batch (``batch``
# NULL until then): the batch number is billing's cursor, and a batch can be printed again.
billing_outbox = Table(
    "billing_outbox",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("partner_number", String(10), nullable=False),
    Column("account_id", String(40), nullable=False),
    Column("field", String(16), nullable=False),
    Column("value", JSON, nullable=False),
    _ts("changed_at", nullable=False),
    Column("batch", Integer),
    Index(None, "batch"),
)

billing_export_batches = Table(
    "billing_export_batches",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _ts("exported_at", nullable=False),
    Column("changes", Integer, nullable=False),
)
