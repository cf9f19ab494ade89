"""The one place that reads configuration: ``EBOK_*`` environment variables (12-factor).

Everything else receives a :class:`Settings` (or values taken from it) as an argument.
Workflows never see it: the client copies what a workflow needs into its input.
"""

from __future__ import annotations

import base64
import binascii
import functools
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import AnyHttpUrl, Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from stdnum.pl import nip

from ebok.commercial import (
    DEFAULT_COMMERCIAL_INTEREST_RATES,
    DEFAULT_EUR_PLN_RATES,
    EurRates,
    commercial_rate_table,
)
from ebok.interest import DEFAULT_LATE_INTEREST_RATES, RateTable

__all__ = [
    "DEMO_SELLER_NIP",
    "DEV_ENV_FILE",
    "DevSettings",
    "Settings",
    "SmtpSecurity",
    "parse_codec_keys",
]

# The demo seller's NIP (a valid check digit) for `worker.py --dev` and the tests; a deployment
# sets its own EBOK_INVOICE_SELLER_NIP.
DEMO_SELLER_NIP = "1234563218"

# PostgreSQL connections a process keeps open (ebok/store/db.py says why none beyond).
DATABASE_POOL_SIZE = 30
# GDPR art. 12(3): a request is acted on within one month; the shortest month has 28 days.
DELETION_DEADLINE = timedelta(days=28)

# Temporal's SDK keeps 1,000 by default; each costs the worker some 200 KB (bench README, "Storm
# at utility scale").
WORKER_MAX_CACHED_WORKFLOWS = 1000

# Written by ``python worker.py --dev`` (database, ports, the dev codec key) and read after
# the real environment, so the ``ebok`` CLI run in the same folder reaches the dev services.
DEV_ENV_FILE = Path(".ebok-dev/dev.env")


class SmtpSecurity(StrEnum):
    """How the SMTP adapter protects the connection to the relay."""

    NONE = "none"  # plain text; only for a relay on localhost
    STARTTLS_IF_OFFERED = "starttls-if-offered"
    STARTTLS = "starttls"  # required: refuse a relay that does not offer it
    TLS = "tls"  # implicit TLS (port 465)


Port = Annotated[int, Field(ge=1, le=65535)]
PositiveDuration = Annotated[timedelta, Field(gt=timedelta(0))]


def parse_codec_keys(raw: str) -> dict[str, bytes]:
    """``"kid1:base64key,kid2:base64key"`` → ordered {key id: 32-byte key}; the first encrypts."""
    keys: dict[str, bytes] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        kid, sep, b64 = item.partition(":")
        if not sep or not kid or not kid.isascii() or not kid.replace("-", "").isalnum():
            raise ValueError("each key must be 'key-id:base64' with an alphanumeric key id")
        try:
            key = base64.b64decode(b64, validate=True)
        except binascii.Error as e:
            raise ValueError(f"key {kid!r} is not valid base64") from e
        if len(key) != 32:
            raise ValueError(f"key {kid!r} must be 32 bytes (AES-256), got {len(key)}")
        if kid in keys:
            raise ValueError(f"key id {kid!r} appears twice")
        keys[kid] = key
    return keys


class Settings(BaseSettings):
    """All settings of the engine; each field is the variable ``EBOK_<FIELD>``."""

    model_config = SettingsConfigDict(
        env_prefix="EBOK_",
        env_file=DEV_ENV_FILE,
        extra="forbid",
        frozen=True,
        validate_default=True,
    )

    # Temporal
    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    task_queue: str = "ebok"
    temporal_tls_cert: Path | None = None
    temporal_tls_key: Path | None = None
    temporal_api_key: SecretStr | None = None
    execution_timeout: PositiveDuration | None = Field(
        default=None, description="upper bound on any workflow run; unset in production"
    )
    worker_max_cached_workflows: Annotated[int, Field(ge=0, le=100_000)] = Field(
        default=WORKER_MAX_CACHED_WORKFLOWS,
        description="workflows a worker keeps in memory between tasks (its RSS grows with it)",
    )
    metrics_bind: str | None = Field(
        default=None, description="host:port of the Prometheus endpoint of the SDK runtime"
    )

    # Store
    database_url: str = "sqlite+aiosqlite:///ebok.db"
    database_pool_size: Annotated[int, Field(ge=1, le=500)] = Field(
        default=DATABASE_POOL_SIZE, description="PostgreSQL connections a process keeps open"
    )

    # E-mail
    email_adapter: str = "smtp"
    smtp_host: str = "localhost"
    smtp_port: Port = 1025
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_security: SmtpSecurity = SmtpSecurity.STARTTLS_IF_OFFERED
    smtp_timeout: PositiveDuration = timedelta(seconds=20)
    smtp_pool_size: Annotated[int, Field(ge=1, le=64)] = Field(
        default=4, description="connections kept open to the relay"
    )
    outbox_dir: Path = Path("outbox")
    mail_from: str = "eBOK <no-reply@ebok.example.pl>"
    backoffice_email: str = "bok@ebok.example.pl"

    # Grid operator (DSO) adapter
    operator_adapter: str = "sandbox"
    operator_url: AnyHttpUrl | None = Field(
        default=None, description="base URL of the DSO API (http adapter)"
    )
    operator_token: SecretStr | None = None
    operator_timeout: PositiveDuration = timedelta(seconds=10)
    operator_registry: Path | None = Field(
        default=None, description="CSV contract registry of the sandbox adapter"
    )
    operator_sandbox_latency: timedelta = timedelta(0)
    operator_sandbox_failure_rate: Annotated[float, Field(ge=0, le=1)] = 0.0
    operator_sandbox_state: Path | None = Field(
        default=None,
        description="JSON file of the sandbox DSO's incidents and requests, shared by processes",
    )
    operator_webhook_secret: SecretStr | None = Field(
        default=None, description="shared secret of the DSO's signed status notifications"
    )

    # Payments adapter
    payments_adapter: str = "sandbox"
    payments_sandbox_dir: Path = Field(
        default=Path(".ebok-dev/payments-sandbox"),
        description="where the sandbox keeps its payments, shared by worker and CLI",
    )
    payments_sandbox_key: SecretStr | None = Field(
        default=None, description="signs sandbox notifications; unset: a random key in the dir"
    )
    payments_sandbox_latency: timedelta = timedelta(0)
    payments_sandbox_failure_rate: Annotated[float, Field(ge=0, le=1)] = 0.0
    payu_url: AnyHttpUrl = Field(
        default=AnyHttpUrl("https://secure.snd.payu.com"), description="PayU API (sandbox)"
    )
    payu_pos_id: str | None = None
    payu_client_id: str | None = None
    payu_client_secret: SecretStr | None = None
    payu_second_key: SecretStr | None = Field(
        default=None, description="PayU's 'second key (MD5)': checks notification signatures"
    )
    payu_notify_url: AnyHttpUrl | None = Field(
        default=None, description="where PayU sends notifications (our webhook receiver)"
    )
    payu_timeout: PositiveDuration = timedelta(seconds=10)

    # Registered letters (postal adapter): the disconnection notice goes by registered post
    post_adapter: str = "sandbox"
    post_url: AnyHttpUrl | None = Field(
        default=None, description="base URL of the hybrid-mail provider's API (http adapter)"
    )
    post_token: SecretStr | None = None
    post_timeout: PositiveDuration = timedelta(seconds=10)
    post_webhook_secret: SecretStr | None = Field(
        default=None, description="shared secret of the provider's signed letter notifications"
    )
    post_sandbox_dir: Path = Field(
        default=Path(".ebok-dev/post-sandbox"),
        description="where the sandbox post keeps its letters, shared by worker and CLI",
    )

    # Invoice lifecycle (copied into each invoice workflow's input by the client)
    invoice_reminder_before: PositiveDuration = Field(
        default=timedelta(days=3), description="reminder this long before the due date"
    )
    invoice_reminder_after: PositiveDuration = Field(
        default=timedelta(days=1), description="reminder this long after the due date"
    )
    invoice_demand_after: Annotated[timedelta, Field(ge=timedelta(days=30))] = Field(
        default=timedelta(days=30), description="formal demand this long after the due date"
    )
    invoice_notice_period: Annotated[timedelta, Field(ge=timedelta(days=14))] = Field(
        default=timedelta(days=14), description="from the demand to a suspension request"
    )
    invoice_complaint_deadline: PositiveDuration = Field(
        default=timedelta(days=14), description="statutory time to answer a complaint"
    )
    invoice_complaint_escalation_margin: PositiveDuration = Field(
        default=timedelta(days=3), description="staff are told this long before that deadline"
    )
    webhook_bind: str = Field(
        default="127.0.0.1:8082", description="host:port of the payment webhook receiver"
    )
    api_bind: str = Field(
        default="127.0.0.1:8000", description="host:port of the HTTP API (ebok api)"
    )
    api_rate_per_second: float = Field(
        default=50.0, gt=0, description="requests a calling service may make per second, sustained"
    )
    api_rate_burst: int = Field(
        default=200, ge=1, description="requests a calling service may make at once, above the rate"
    )
    api_customer_rate_per_minute: float = Field(
        default=20.0,
        gt=0,
        description="requests one customer's address (Customer-IP; IPv6: its /64) may make per "
        "minute to sign-up, activation, sign-in and outage reports, sustained",
    )
    api_customer_burst: int = Field(
        default=10, ge=1, description="requests one customer's address may make at once"
    )
    invoice_seller: str = "eBOK Energia sp. z o.o., ul. Przykładowa 1, 00-001 Warszawa"
    # Required (no default): every invoice and disconnection notice names the seller's NIP.
    invoice_seller_nip: str = ""

    # Links and the registration process
    public_url: AnyHttpUrl = AnyHttpUrl("http://localhost:8000")
    terms_version: str = "2026-01"
    registration_password_timeout: PositiveDuration = timedelta(hours=24)
    activation_ttl: PositiveDuration = timedelta(hours=72)
    resend_cooldown: PositiveDuration = timedelta(seconds=180)
    resend_limit: Annotated[int, Field(ge=0, le=100)] = 5
    purge_grace: PositiveDuration = timedelta(days=7)

    # Sign-in (throttled in the store) and password reset
    sign_in_lock_after: Annotated[int, Field(ge=1, le=100)] = Field(
        default=5, description="failed sign-ins in a row before the account is blocked"
    )
    sign_in_first_delay: PositiveDuration = Field(
        default=timedelta(minutes=1), description="the first block; it doubles at each failure"
    )
    sign_in_max_delay: PositiveDuration = Field(
        default=timedelta(hours=1), description="the longest block of an account"
    )
    sign_in_ip_limit: Annotated[int, Field(ge=1, le=1_000_000)] = Field(
        default=100, description="failed sign-ins a client address may make per window"
    )
    sign_in_ip_window: PositiveDuration = timedelta(minutes=15)
    password_reset_ttl: PositiveDuration = timedelta(hours=24)
    password_reset_resend_cooldown: PositiveDuration = timedelta(seconds=180)
    password_reset_resend_limit: Annotated[int, Field(ge=0, le=100)] = 3

    # Partner linking
    link_max_failed_attempts: Annotated[int, Field(ge=1, le=100)] = 5
    link_lockout: PositiveDuration = timedelta(hours=24)
    link_operator_patience: PositiveDuration = Field(
        default=timedelta(hours=48), description="operator retries before staff review"
    )
    link_staff_patience: PositiveDuration = Field(
        default=timedelta(hours=24), description="staff review waiting before an escalation"
    )
    link_idle_timeout: PositiveDuration = timedelta(days=30)
    link_invoice_max_age: PositiveDuration = timedelta(days=400)
    allow_shared_partner: bool = Field(
        default=False, description="may one partner be linked to several web accounts"
    )

    # E-invoice consent
    einvoice_terms_version: str = Field(
        default="2026-01", description="the e-invoice terms in force; a request must name them"
    )
    einvoice_link_ttl: PositiveDuration = timedelta(hours=72)
    einvoice_resend_cooldown: PositiveDuration = timedelta(seconds=180)
    einvoice_resend_limit: Annotated[int, Field(ge=0, le=100)] = 5

    # Customer account: e-mail change
    email_change_link_ttl: PositiveDuration = timedelta(hours=24)
    email_change_undo_window: PositiveDuration = timedelta(days=7)
    email_change_resend_cooldown: PositiveDuration = timedelta(seconds=180)
    email_change_resend_limit: Annotated[int, Field(ge=0, le=100)] = 5

    # Account deletion (GDPR art. 17): a confirmation link, then a cooling-off period during
    # which signing in cancels it; then the account's personal data is erased
    deletion_link_ttl: PositiveDuration = timedelta(hours=72)
    deletion_resend_cooldown: PositiveDuration = timedelta(seconds=180)
    deletion_resend_limit: Annotated[int, Field(ge=0, le=100)] = 5
    deletion_cooling_off: PositiveDuration = Field(
        default=timedelta(days=14), description="confirmed deletion → personal data erased"
    )

    # Invoices: statutory late interest, "start-date:percent,..." (see ebok/interest.py; append
    # a new item on the day a new NBP reference rate takes effect)
    late_interest_rates: str = DEFAULT_LATE_INTEREST_RATES
    # Business debtors: interest for delay in commercial transactions, a rate per half-year
    # ("YYYY-01-01:rate" / "YYYY-07-01:rate"), and the NBP average EUR rate of each month's
    # last business day for the recovery compensation (see ebok/commercial.py)
    commercial_interest_rates: str = DEFAULT_COMMERCIAL_INTEREST_RATES
    eur_pln_rates: str = DEFAULT_EUR_PLN_RATES

    # Outage reporting
    outage_ack_sla: PositiveDuration = Field(
        default=timedelta(minutes=30), description="operator acknowledgement before escalation"
    )
    outage_compensation_threshold: PositiveDuration = Field(
        default=timedelta(hours=24), description="unplanned interruption giving a bonifikata"
    )
    outage_poll_interval: PositiveDuration = Field(
        default=timedelta(minutes=10),
        description="how often an incident's watch asks the DSO for its ticket's status",
    )
    outage_batch_size: Annotated[int, Field(ge=1, le=5000)] = Field(
        default=200, description="reporters read and mailed per page of a notification"
    )
    outage_confirm_delay: PositiveDuration = Field(
        default=timedelta(seconds=20), description="new reports gathered before one mail batch"
    )
    outage_reopen_grace: PositiveDuration = Field(
        default=timedelta(hours=24), description="how long staff may re-open an ended incident"
    )
    outage_reports_per_run: Annotated[int, Field(ge=10, le=10000)] = Field(
        default=500, description="reports an incident takes before it continues as new"
    )
    outage_report_patience: PositiveDuration = timedelta(days=30)

    # Key that derives one-time link tokens (32+ random bytes, base64); see ebok/store/tokens.py
    token_key: SecretStr | None = None

    # Payload encryption: "kid:base64(32 bytes),..."; the first key encrypts, all decrypt
    codec_keys: SecretStr | None = None
    codec_server_bind: str = "127.0.0.1:8081"
    codec_cors_origin: str = "http://localhost:8233"

    @field_validator("deletion_cooling_off")
    @classmethod
    def _deletion_within_a_month(cls, v: timedelta, info: ValidationInfo) -> timedelta:
        # GDPR art. 12(3): act on a request within one month of receiving it. The link's
        # lifetime and the cooling-off together must fit in the shortest month.
        link_ttl = info.data.get("deletion_link_ttl", timedelta(0))
        if v + link_ttl > DELETION_DEADLINE:
            raise ValueError(
                f"with EBOK_DELETION_LINK_TTL it must not exceed {DELETION_DEADLINE.days} days "
                "(GDPR art. 12(3): one month to act on a request)"
            )
        return v

    @field_validator("codec_keys")
    @classmethod
    def _codec_keys_parse(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and v.get_secret_value().strip():
            parse_codec_keys(v.get_secret_value())
            return v
        return None

    @field_validator("token_key")
    @classmethod
    def _token_key_strength(cls, v: SecretStr | None) -> SecretStr | None:
        if v is None:
            return None
        try:
            key = base64.b64decode(v.get_secret_value(), validate=True)
        except binascii.Error as e:
            raise ValueError("must be base64") from e
        if len(key) < 32:
            raise ValueError(f"must be at least 32 bytes, got {len(key)}")
        return v

    @field_validator("late_interest_rates")
    @classmethod
    def _rate_table(cls, v: str) -> str:
        RateTable.parse(v)  # its RateTableError (a ValueError) names the bad item
        return v

    @field_validator("commercial_interest_rates")
    @classmethod
    def _commercial_table(cls, v: str) -> str:
        commercial_rate_table(v)
        return v

    @field_validator("eur_pln_rates")
    @classmethod
    def _eur_rates(cls, v: str) -> str:
        EurRates.parse(v)
        return v

    @field_validator("invoice_seller_nip")
    @classmethod
    def _seller_nip(cls, v: str) -> str:
        # Runs on the default too (validate_default): a missing NIP stops the program here.
        if not v.strip():
            raise ValueError(
                "EBOK_INVOICE_SELLER_NIP is required: the seller's NIP, printed on every invoice "
                "and disconnection notice"
            )
        if not nip.is_valid(v):
            raise ValueError("EBOK_INVOICE_SELLER_NIP is not a valid NIP (10 digits, check digit)")
        return str(nip.compact(v))

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, v: str) -> str:
        scheme = v.split(":", 1)[0]
        if scheme in ("sqlite", "sqlite+pysqlite"):
            return "sqlite+aiosqlite" + v[len(scheme) :]
        if scheme in ("postgresql", "postgres", "postgresql+psycopg2"):
            return "postgresql+psycopg" + v[len(scheme) :]
        if scheme not in ("sqlite+aiosqlite", "postgresql+psycopg"):
            raise ValueError("use sqlite:///FILE or postgresql://USER@HOST/DB (psycopg 3)")
        return v

    @field_validator("mail_from", "backoffice_email")
    @classmethod
    def _no_header_breaks(cls, v: str) -> str:
        if any(c in v for c in "\r\n\0"):
            raise ValueError("must not contain CR, LF or NUL")
        return v

    @property
    def token_key_bytes(self) -> bytes:
        """The link-token key; a worker cannot issue links without it."""
        if self.token_key is None:
            raise ValueError("EBOK_TOKEN_KEY is not set: generate one with `ebok keygen`")
        return base64.b64decode(self.token_key.get_secret_value())

    @property
    def late_interest_table(self) -> RateTable:
        return _rate_table(self.late_interest_rates)

    @property
    def commercial_interest_table(self) -> RateTable:
        return _commercial_table(self.commercial_interest_rates)

    @property
    def eur_pln_table(self) -> EurRates:
        return EurRates.parse(self.eur_pln_rates)

    @property
    def codec_key_ring(self) -> dict[str, bytes]:
        """The parsed codec keys; empty when payload encryption is off."""
        return parse_codec_keys(self.codec_keys.get_secret_value()) if self.codec_keys else {}

    def link(self, path: str, **query: str) -> str:
        """An absolute URL on the portal for an e-mailed link."""
        from urllib.parse import urlencode

        base = str(self.public_url).rstrip("/")
        return f"{base}/{path.lstrip('/')}" + (f"?{urlencode(query)}" if query else "")


class DevSettings(Settings):
    """`python worker.py --dev`: the embedded defaults, with the demo seller's NIP unless the
    environment gives one."""

    invoice_seller_nip: str = DEMO_SELLER_NIP


@functools.lru_cache(maxsize=8)
def _rate_table(text: str) -> RateTable:
    """Parsed once per text: every invoice issued carries the table, and it is immutable."""
    return RateTable.parse(text)


@functools.lru_cache(maxsize=8)
def _commercial_table(text: str) -> RateTable:
    return commercial_rate_table(text)
