"""A PaymentProvider on this machine: for development, demos and tests. No money moves.

Payments live in a small SQLite file under ``EBOK_PAYMENTS_SANDBOX_DIR``, so the worker that
creates a payment and the ``ebok payments sandbox-complete REF`` command that pays it (another
process) see the same ledger. Completing or cancelling gives back the notification a provider
would send: a PayU-shaped body and an ``OpenPayU-Signature`` header, signed with HMAC-SHA256
under ``EBOK_PAYMENTS_SANDBOX_KEY`` (label ``algorithm=SHA-256``). Without that setting a random
key is made once and kept in the same folder (mode 0600), which every process there shares.
Authorizing (``ebok payments sandbox-authorize REF``) pays as at a provider that holds the money
(``WAITING_FOR_CONFIRMATION``) until :meth:`SandboxPayments.capture_payment` or
:meth:`SandboxPayments.cancel_payment`.

``EBOK_PAYMENTS_SANDBOX_LATENCY`` delays, and ``EBOK_PAYMENTS_SANDBOX_FAILURE_RATE`` (0..1) makes
fail with :class:`PaymentUnavailable`, the calls a real provider answers over the network
(create, status, refund); :meth:`SandboxPayments.fail_next` injects failures one by one.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import json
import os
import random
import secrets
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from adapters.payments.base import (
    CreatedPayment,
    NotificationRejected,
    PaymentError,
    PaymentNotification,
    PaymentRejected,
    PaymentRequest,
    PaymentState,
    PaymentUnavailable,
    RefundRequest,
    RefundResult,
)
from adapters.payments.notification import (
    ORDER_STATUSES,
    find_signature_header,
    format_signature_header,
    parse_order_notification,
    parse_signature_header,
    signatures_match,
)
from ebok.money import Money
from ebok.settings import Settings

__all__ = ["DB_FILE", "KEY_FILE", "SENDER", "Notification", "SandboxPayments"]

DB_FILE = "payments.sqlite3"
KEY_FILE = "signing.key"
SENDER = "ebok-sandbox"
ALGORITHM = "SHA-256"  # the label PayU uses; the sandbox's value is an HMAC-SHA256
# Not a real host (.invalid is reserved): there is no payment page; the CLI plays the customer.
PAY_URL = "https://sandbox-payments.invalid/pay/{ref}"

Notification = tuple[bytes, dict[str, str]]  # (raw body, headers), as POSTed to notifyUrl

_SCHEMA = """
CREATE TABLE IF NOT EXISTS payments (
    provider_ref TEXT PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    invoice_number TEXT NOT NULL,
    amount INTEGER NOT NULL,
    description TEXT NOT NULL,
    status TEXT NOT NULL,  -- PayU's words: NEW, WAITING_FOR_CONFIRMATION, COMPLETED, CANCELED
    created_at TEXT NOT NULL,
    changed_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS refunds (
    key TEXT PRIMARY KEY,
    refund_ref TEXT NOT NULL UNIQUE,
    provider_ref TEXT NOT NULL REFERENCES payments (provider_ref),
    amount INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
"""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _load_or_make_key(folder: Path) -> bytes:
    path = folder / KEY_FILE
    try:
        # O_EXCL: of two processes starting together, one writes the key and both read it.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(secrets.token_hex(32))
    for _ in range(50):  # the other process may be between creating and writing the file
        text = path.read_text(encoding="ascii").strip()
        if text:
            return text.encode()
        time.sleep(0.01)
    raise RuntimeError(f"{path}: the sandbox signing key file is empty")


class SandboxPayments:
    """The ledger at ``folder``; see the module docstring. Build with :meth:`from_settings`."""

    def __init__(
        self,
        folder: Path,
        key: bytes | None = None,
        latency: timedelta = timedelta(0),
        failure_rate: float = 0.0,
        seed: int | None = None,
    ) -> None:
        if not 0.0 <= failure_rate <= 1.0:
            raise ValueError("failure_rate must be between 0 and 1")
        if latency < timedelta(0):
            raise ValueError("latency must not be negative")
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self._key = key if key else _load_or_make_key(folder)
        self.latency = latency
        self.failure_rate = failure_rate
        self.calls = 0  # provider calls (create, status, refund), failed ones included
        self._random = random.Random(seed)
        self._failures: list[PaymentError] = []
        self._closed = False
        with self._db() as db:
            db.executescript(_SCHEMA)

    def __repr__(self) -> str:  # never shows the key
        return f"SandboxPayments({str(self.folder)!r})"

    @classmethod
    def from_settings(cls, settings: Settings) -> SandboxPayments:
        key = settings.payments_sandbox_key
        return cls(
            settings.payments_sandbox_dir,
            key=key.get_secret_value().encode() if key is not None else None,
            latency=settings.payments_sandbox_latency,
            failure_rate=settings.payments_sandbox_failure_rate,
        )

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        # A connection per use: cheap for SQLite, and safe in whichever thread runs it.
        db = sqlite3.connect(self.folder / DB_FILE, timeout=10, isolation_level=None)
        db.row_factory = sqlite3.Row
        try:
            yield db
        finally:
            db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")  # the write lock first: no lost updates across processes
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # --- failure injection ----------------------------------------------------------------------

    def fail_next(self, n: int = 1, error: PaymentError | None = None) -> None:
        """Make the next ``n`` provider calls raise ``error`` (default PaymentUnavailable)."""
        if n < 0:
            raise ValueError("n must be >= 0")
        template = error if error is not None else PaymentUnavailable("sandbox: injected failure")
        self._failures.extend(copy.copy(template) for _ in range(n))

    async def _provider_call(self) -> None:
        if self._closed:
            raise RuntimeError("SandboxPayments is closed")
        self.calls += 1
        if self.latency:
            await asyncio.sleep(self.latency.total_seconds())
        if self._failures:
            raise self._failures.pop(0)
        if self.failure_rate and self._random.random() < self.failure_rate:
            raise PaymentUnavailable("sandbox: random failure (payments_sandbox_failure_rate)")

    # --- the port -------------------------------------------------------------------------------

    async def create_payment(self, request: PaymentRequest) -> CreatedPayment:
        await self._provider_call()
        return await asyncio.to_thread(self._create, request)

    def _create(self, request: PaymentRequest) -> CreatedPayment:
        with self._transaction() as db:
            row = db.execute("SELECT * FROM payments WHERE key = ?", (request.key,)).fetchone()
            if row is None:
                ref = "SBX" + secrets.token_hex(10).upper()
                now = _now()
                db.execute(
                    "INSERT INTO payments VALUES (?, ?, ?, ?, ?, 'NEW', ?, ?)",
                    (
                        ref,
                        request.key,
                        request.invoice_number,
                        request.amount.grosze,
                        request.description,
                        now,
                        now,
                    ),
                )
            elif (row["amount"], row["invoice_number"]) != (
                request.amount.grosze,
                request.invoice_number,
            ):
                # A retry repeats its request; a different one under a used key is a bug upstream.
                raise PaymentRejected("sandbox: key already used for another payment", 409)
            else:
                ref = row["provider_ref"]
        return CreatedPayment(request.key, ref, PAY_URL.format(ref=ref))

    async def payment_status(self, provider_ref: str) -> PaymentState:
        await self._provider_call()
        row = await asyncio.to_thread(self._payment, provider_ref)
        return PaymentState(
            key=row["key"],
            provider_ref=row["provider_ref"],
            status=ORDER_STATUSES[row["status"]],
            amount=Money(row["amount"]),
        )

    def _payment(self, ref: str, *, by_key: bool = False) -> sqlite3.Row:
        with self._db() as db:
            row: sqlite3.Row | None = db.execute(
                "SELECT * FROM payments WHERE provider_ref = ?", (ref,)
            ).fetchone()
            if row is None and by_key:
                row = db.execute("SELECT * FROM payments WHERE key = ?", (ref,)).fetchone()
        if row is None:
            raise PaymentRejected("sandbox: no such payment", 404)
        return row

    async def refund(self, request: RefundRequest) -> RefundResult:
        await self._provider_call()
        return await asyncio.to_thread(self._refund, request)

    def _refund(self, request: RefundRequest) -> RefundResult:
        if request.amount.grosze <= 0:
            raise PaymentRejected("sandbox: refund amount must be positive", 400)
        with self._transaction() as db:
            done = db.execute("SELECT * FROM refunds WHERE key = ?", (request.key,)).fetchone()
            if done is not None:
                if (done["provider_ref"], done["amount"]) != (
                    request.provider_ref,
                    request.amount.grosze,
                ):
                    raise PaymentRejected("sandbox: refund key already used for another refund")
                return RefundResult(request.key, done["refund_ref"], "FINALIZED")
            payment = db.execute(
                "SELECT * FROM payments WHERE provider_ref = ?", (request.provider_ref,)
            ).fetchone()
            if payment is None:
                raise PaymentRejected("sandbox: no such payment", 404)
            if payment["status"] != "COMPLETED":
                raise PaymentRejected("sandbox: only a completed payment can be refunded", 400)
            (refunded,) = db.execute(
                "SELECT COALESCE(SUM(amount), 0) FROM refunds WHERE provider_ref = ?",
                (request.provider_ref,),
            ).fetchone()
            if refunded + request.amount.grosze > payment["amount"]:
                raise PaymentRejected("sandbox: refunds would exceed the amount paid", 400)
            refund_ref = "SBXR" + secrets.token_hex(8).upper()
            db.execute(
                "INSERT INTO refunds VALUES (?, ?, ?, ?, ?)",
                (request.key, refund_ref, request.provider_ref, request.amount.grosze, _now()),
            )
        return RefundResult(request.key, refund_ref, "FINALIZED")

    async def capture_payment(self, provider_ref: str) -> None:
        await self._provider_call()
        waiting = ("WAITING_FOR_CONFIRMATION",)
        await asyncio.to_thread(self._confirm, provider_ref, "COMPLETED", waiting)

    async def cancel_payment(self, provider_ref: str) -> None:
        await self._provider_call()
        await asyncio.to_thread(
            self._confirm, provider_ref, "CANCELED", ("NEW", "PENDING", "WAITING_FOR_CONFIRMATION")
        )

    def _confirm(self, ref: str, status: str, allowed_from: tuple[str, ...]) -> None:
        """The merchant's side of a payment: move it to ``status`` from one of ``allowed_from``;
        already there is no error (a twin call won)."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT status FROM payments WHERE provider_ref = ?", (ref,)
            ).fetchone()
            if row is None:
                raise PaymentRejected("sandbox: no such payment", 404)
            if row["status"] == status:
                return
            if row["status"] not in allowed_from:
                raise PaymentRejected(f"sandbox: the payment is {row['status']}", 409)
            db.execute(
                "UPDATE payments SET status = ?, changed_at = ? WHERE provider_ref = ?",
                (status, _now(), ref),
            )

    async def verify_notification(
        self, body: bytes, headers: Mapping[str, str]
    ) -> PaymentNotification:
        header = parse_signature_header(find_signature_header(headers))
        if header.algorithm != ALGORITHM:
            raise NotificationRejected(f"unsupported signature algorithm {header.algorithm[:16]}")
        if not signatures_match(self._sign(body), header):
            raise NotificationRejected("signature does not match")
        return parse_order_notification(body)

    async def aclose(self) -> None:
        self._closed = True

    # --- the customer's side, for the CLI and tests ---------------------------------------------

    async def complete(self, ref: str) -> Notification:
        """Pay the payment ``ref`` (its provider ref or our key); the signed notification.

        Completing again gives the same notification again (a provider's retry); a cancelled
        payment cannot be completed (:class:`PaymentRejected`).
        """
        return await asyncio.to_thread(self._move, ref, "COMPLETED")

    async def cancel(self, ref: str) -> Notification:
        """Abandon the payment ``ref``; a completed payment cannot be cancelled."""
        return await asyncio.to_thread(self._move, ref, "CANCELED")

    async def authorize(self, ref: str) -> Notification:
        """Pay the payment ``ref`` at a provider told not to take the money by itself: it waits
        for the merchant's :meth:`capture_payment` or :meth:`cancel_payment`."""
        return await asyncio.to_thread(self._move, ref, "WAITING_FOR_CONFIRMATION")

    async def notification(self, ref: str) -> Notification:
        """The signed notification of the payment's current status, without changing it."""
        return self._notification(await asyncio.to_thread(self._payment, ref, by_key=True))

    def _move(self, ref: str, status: str) -> Notification:
        with self._transaction() as db:
            row = db.execute(
                "SELECT * FROM payments WHERE provider_ref = ? OR key = ? "
                "ORDER BY provider_ref = ? DESC LIMIT 1",
                (ref, ref, ref),
            ).fetchone()
            if row is None:
                raise PaymentRejected("sandbox: no such payment", 404)
            if row["status"] != status:
                if row["status"] in ("COMPLETED", "CANCELED"):  # terminal: never undone
                    raise PaymentRejected(f"sandbox: the payment is already {row['status']}", 409)
                db.execute(
                    "UPDATE payments SET status = ?, changed_at = ? WHERE provider_ref = ?",
                    (status, _now(), row["provider_ref"]),
                )
            row = db.execute(
                "SELECT * FROM payments WHERE provider_ref = ?", (row["provider_ref"],)
            ).fetchone()
        return self._notification(row)

    def _notification(self, row: sqlite3.Row) -> Notification:
        order: dict[str, Any] = {
            "orderId": row["provider_ref"],
            "extOrderId": row["key"],
            "orderCreateDate": row["created_at"],
            "description": row["description"],
            "currencyCode": "PLN",
            "totalAmount": str(row["amount"]),
            "status": row["status"],
        }
        document: dict[str, Any] = {"order": order}
        if row["status"] == "COMPLETED":
            document["localReceiptDateTime"] = row["changed_at"]
        body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
        header = format_signature_header(SENDER, self._sign(body), ALGORITHM)
        return body, {"Content-Type": "application/json", "OpenPayU-Signature": header}

    def _sign(self, body: bytes) -> str:
        return hmac.new(self._key, body, hashlib.sha256).hexdigest()
