"""Invoices paid under faults: what each customer pays, the provider notifications and bank
statements that say so (repeated, reordered, through the facade and the webhook receiver),
and the books they must leave.

A :class:`Case` is one invoice and the payments its customer really made. Every payment must
end up booked exactly once: a row in ``payments`` under its (source, reference), or, when
nothing could apply it any more (the invoice was closed), reported back as not applied (a bank
transfer listed as unmatched, a notification answered ``closed``), never both and never
neither. From what is booked follow the invoice's state, what it says is paid, and its credit.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import json
import random
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import httpx
from sqlalchemy import func, select
from temporalio.client import Client, WorkflowExecutionStatus

from activities.mail import message_id
from adapters.payments.notification import format_signature_header
from adapters.payments.sandbox import ALGORITHM, SENDER, Notification, SandboxPayments
from ebok.models import invoice as m
from ebok.store.db import Store
from ebok.store.tables import invoice_events, invoices, partner_credits, payments
from facade.bank_statement import IncomingTransfer
from facade.client import EbokClient
from tests.bank_files import write_camt053, write_mt940
from tests.faults.mailbox import DOMAIN, CountingSmtpServer
from tests.workflows.invoices import Billed, an_invoice, pay_reference

__all__ = [
    "SANDBOX_KEY",
    "Books",
    "Case",
    "Deliveries",
    "Paid",
    "books_of",
    "issued_id",
    "paid_id",
    "plan_cases",
    "settle",
]

SANDBOX_KEY = "faults-sandbox-signing-key"  # shared by the test, the facade and the worker
Kind = Literal["online", "abandoned", "mixed", "split", "over", "partial"]
# e-mail customers pay online; paper customers by transfer (cheaper: no PDF, no mail)
KINDS: tuple[tuple[Kind, int], ...] = (
    ("online", 3), ("abandoned", 1), ("mixed", 1), ("split", 3), ("over", 2), ("partial", 2),
)  # fmt: skip
EMAIL_KINDS = ("online", "abandoned", "mixed")
STATEMENT_CASES = 12  # invoices whose transfers share one statement file
STATEMENT_SUFFIXES = {"csv": "csv", "mt940": "sta", "camt053": "xml"}  # by format


def issued_id(number: str) -> str:
    return message_id("invoice-issued", number, 1, DOMAIN)


def paid_id(number: str) -> str:
    return message_id("invoice-paid", number, 1, DOMAIN)


@dataclass(frozen=True)
class Paid:
    source: Literal["provider", "bank"]
    reference: str
    amount: int  # grosze


@dataclass
class Case:
    billed: Billed
    kind: Kind
    paid: list[Paid] = field(default_factory=list)
    # Bank parts planned before issue; the provider payment is added once it is completed.
    bank_parts: list[int] = field(default_factory=list)
    provider_ref: str | None = None
    unbooked: set[str] = field(default_factory=set)  # references reported as not applied

    @property
    def number(self) -> str:
        return self.billed.number

    @property
    def gross(self) -> int:
        return int(self.billed.invoice["gross"])

    def booked(self) -> dict[tuple[str, str], int]:
        return {(p.source, p.reference): p.amount for p in self.paid
                if p.reference not in self.unbooked}  # fmt: skip

    @property
    def total(self) -> int:
        return sum(self.booked().values())

    @property
    def settled(self) -> bool:
        return self.total >= self.gross

    @property
    def credit(self) -> int:
        return max(self.total - self.gross, 0)


def _split(rng: random.Random, total: int, parts: int, below: int) -> list[int]:
    """``total`` in ``parts`` positive pieces, each below ``below`` (so no one piece settles)."""
    while True:
        cuts = sorted(rng.sample(range(1, total), parts - 1))
        pieces = [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]
        if all(0 < p < below for p in pieces):
            return pieces


def _bank_parts(rng: random.Random, kind: Kind, gross: int) -> list[int]:
    if kind == "split":
        return _split(rng, gross, rng.randint(2, 3), gross)
    if kind == "over":
        return _split(rng, gross + rng.randint(1, gross // 2), rng.randint(2, 3), gross)
    if kind == "partial":
        return _split(rng, rng.randint(gross // 3, gross - 1), rng.randint(1, 2), gross)
    if kind == "mixed":  # a transfer of part of it, and the whole of it online: a credit
        return [rng.randint(100, gross - 1)]
    if kind == "abandoned":  # gave up paying online; pays by transfer instead
        return _split(rng, gross, rng.randint(1, 2), gross + 1)
    return []


async def plan_cases(store: Store, rng: random.Random, count: int) -> list[Case]:
    """``count`` fresh invoices (not yet issued), each with what its customer will pay."""
    kinds, weights = zip(*KINDS, strict=True)
    cases = []
    for _ in range(count):
        kind: Kind = rng.choices(kinds, weights)[0]
        gross = rng.randint(2000, 90000)
        billed = await an_invoice(store, gross=gross, consent=kind in EMAIL_KINDS)
        cases.append(Case(billed, kind, bank_parts=_bank_parts(rng, kind, gross)))
    return cases


def resign(note: Notification, status: str, key: str = SANDBOX_KEY) -> Notification:
    """The provider's notification of the same order in another status, correctly signed: what
    a provider sends when its notifications overtake each other."""
    body, headers = note
    document = json.loads(body)
    document["order"]["status"] = status
    document.pop("localReceiptDateTime", None)
    raw = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    signature = hmac.new(key.encode(), raw, hashlib.sha256).hexdigest()
    return raw, {**headers, "OpenPayU-Signature": format_signature_header(SENDER, signature,
                                                                          ALGORITHM)}  # fmt: skip


@dataclass
class Deliveries:
    """Every notification and statement copy, in one shuffled list, and what became of them."""

    rng: random.Random
    folder: Path
    items: list[tuple[str, Any]] = field(default_factory=list)  # ("note" | "statement", ...)
    outcomes: Counter[str] = field(default_factory=Counter)
    copies: int = 0  # notifications delivered more than once (extra copies)
    stale_after: int = 0  # non-COMPLETED notifications placed after the COMPLETED one
    via_http: int = 0
    statements: int = 0
    online: dict[str, Case] = field(default_factory=dict)  # provider ref → its invoice

    async def prepare(
        self, cases: list[Case], sandbox: SandboxPayments, relay: CountingSmtpServer
    ) -> None:
        """The customers act: online payers pay (or give up) at the provider, transfers are
        written to statements; each message gets its copies, then all are shuffled."""
        for case in cases:
            if case.kind in EMAIL_KINDS:
                ref = pay_reference(await relay.message(issued_id(case.number)))
                case.provider_ref = ref
                self.online[ref] = case
                stale = await sandbox.notification(ref)  # NEW, sent when it was created
                if case.kind == "abandoned":
                    notes = [await sandbox.cancel(ref), stale]
                else:
                    done = await sandbox.complete(ref)
                    case.paid.append(Paid("provider", ref, case.gross))
                    notes = [done, stale, resign(done, "CANCELED"), resign(done, "PENDING")]
                self._notes(notes)
            case.paid += [
                Paid("bank", f"BNK-{uuid.uuid4().hex[:12].upper()}", amount)
                for amount in case.bank_parts
            ]
        self._statements([c for c in cases if c.bank_parts])
        self.rng.shuffle(self.items)
        seen_done: set[bytes] = set()
        for kind, item in self.items:  # a stale status landing after COMPLETED, as planned
            if kind == "note":
                body = item[0]
                order = json.loads(body)["order"]
                if order["status"] == "COMPLETED":
                    seen_done.add(order["orderId"].encode())
                elif order["orderId"].encode() in seen_done:
                    self.stale_after += 1

    def _notes(self, notes: list[Notification]) -> None:
        for note in notes:
            repeats = self.rng.randint(1, 5)
            self.copies += repeats - 1
            self.items += [("note", note)] * repeats

    def _statements(self, cases: list[Case]) -> None:
        """Transfers of ~STATEMENT_CASES invoices to a file; each file delivered twice, the
        second copy with its rows in another order and in another of the bank's formats
        (CSV, MT940, camt.053): a transfer is one payment whatever file brings it."""
        for start in range(0, len(cases), STATEMENT_CASES):
            rows = [(c, p) for c in cases[start : start + STATEMENT_CASES]
                    for p in c.paid if p.source == "bank"]  # fmt: skip
            formats = self.rng.sample(sorted(STATEMENT_SUFFIXES), 2)
            for copy, kind in enumerate(formats, start=1):
                self.rng.shuffle(rows)
                path = self.folder / f"statement-{start}-{copy}.{STATEMENT_SUFFIXES[kind]}"
                path.write_text(_statement(rows, kind), encoding="utf-8")
                self.items.append(("statement", (path, {p.reference: c for c, p in rows})))
                self.statements += 1

    async def deliver(
        self,
        ebok: EbokClient,
        webhook_url: str,
        *,
        parallel: int = 6,
        pace: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        """Deliver every item, ``parallel`` at a time, each note through the facade or over
        HTTP to the webhook receiver at random; ``pace(i)`` may hold item ``i`` back."""
        queue: asyncio.Queue[tuple[int, tuple[str, Any]]] = asyncio.Queue()
        for i, item in enumerate(self.items):
            queue.put_nowait((i, item))
        http_choice = [self.rng.random() < 0.5 for _ in self.items]

        async def one(http: httpx.AsyncClient) -> None:
            while not queue.empty():
                i, (kind, item) = queue.get_nowait()
                if pace is not None:
                    await pace(i)
                if kind == "statement":
                    await self._statement(ebok, *item)
                else:
                    await self._note(ebok, http, webhook_url, item, http_choice[i])

        async with httpx.AsyncClient(timeout=60) as http:
            async with asyncio.TaskGroup() as group:
                for _ in range(parallel):
                    group.create_task(one(http))

    async def _statement(self, ebok: EbokClient, path: Path, cases: dict[str, Case]) -> None:
        report = await ebok.import_bank_statement(path)
        assert not report.bad, report.bad
        self.outcomes["transfer signalled"] += len(report.signalled)
        self.outcomes["transfer duplicate"] += len(report.duplicates)
        for reference, why in report.unmatched:
            self.outcomes[f"transfer unmatched: {why}"] += 1
            cases[reference].unbooked.add(reference)

    async def _note(
        self,
        ebok: EbokClient,
        http: httpx.AsyncClient,
        url: str,
        note: Notification,
        over_http: bool,
    ) -> None:
        body, headers = note
        if over_http:
            self.via_http += 1
            answer = await http.post(url, content=body, headers=headers)
            assert answer.status_code == 200, (answer.status_code, answer.text)
            outcome = str(answer.json()["outcome"])
        else:
            outcome = (await ebok.payment_notification(body, headers)).outcome
        self.outcomes[f"notification {outcome}"] += 1
        if outcome == "closed":  # answered as not applied: to be booked by hand
            ref = json.loads(body)["order"]["orderId"]
            self.online[ref].unbooked.add(ref)

    def summary(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items()))


def _transfer(case: Case, paid: Paid) -> IncomingTransfer:
    return IncomingTransfer.model_validate(
        {
            "booking_date": datetime.now(UTC).date().isoformat(),
            "amount": paid.amount,
            "currency": "PLN",
            "target_account": case.billed.invoice["nrb"],
            "sender_account": "",
            "sender_name": "Jan Klient",
            "title": f"Zaplata za {case.number}",
            "bank_reference": paid.reference,
        }
    )


def _statement(rows: list[tuple[Case, Paid]], kind: str) -> str:
    if kind != "csv":
        transfers = [_transfer(case, paid) for case, paid in rows]
        return write_mt940(transfers) if kind == "mt940" else write_camt053(transfers)
    out = io.StringIO()
    out.write("booking_date,amount,currency,target_account,sender_account,sender_name,title,"
              "bank_reference\n")  # fmt: skip
    today = datetime.now(UTC).date().isoformat()
    for case, p in rows:
        amount = f"{p.amount // 100},{p.amount % 100:02d}"
        title = f"Zaplata za {case.number}"
        out.write(f'{today},"{amount}",PLN,{case.billed.invoice["nrb"]},,Jan Klient,{title},'
                  f"{p.reference}\n")  # fmt: skip
    return out.getvalue()


async def settle(client: Client, cases: list[Case], within: float) -> list[str]:
    """Wait until each invoice stands where its booked payments put it: a settled one's
    workflow completed, an open one's ``status`` showing every booked payment. The numbers of
    those that did not get there in time."""
    deadline = time.monotonic() + within

    async def one(case: Case) -> str | None:
        handle = client.get_workflow_handle(case.billed.workflow_id)
        while time.monotonic() < deadline:
            if case.settled:
                described = await handle.describe()
                if described.status == WorkflowExecutionStatus.COMPLETED:
                    return None
            else:
                status = await handle.query("status", result_type=m.InvoiceStatus)
                if status.paid.grosze >= case.total:
                    return None
            await asyncio.sleep(0.5)
        return case.number

    late = await asyncio.gather(*(one(c) for c in cases))
    return [n for n in late if n is not None]


@dataclass
class Books:
    """What the store and the workflows say, per invoice, and what disagrees with the plan."""

    rows: dict[str, dict[tuple[str, str], int]]  # invoice → (source, reference) → grosze
    twice: list[tuple[str, str]]  # (source, reference) stored more than once
    states: dict[str, tuple[str, int]]  # invoice → (state, amount due)
    credits: dict[str, int]
    audit: Counter[str]  # invoice → payment audit rows
    statuses: dict[str, m.InvoiceStatus]
    lost: list[str] = field(default_factory=list)  # (invoice: reference) made, never booked
    extra: list[str] = field(default_factory=list)  # booked, but also reported unapplied
    wrong: list[str] = field(default_factory=list)  # state, totals or credit off

    @property
    def rows_total(self) -> int:
        return sum(len(r) for r in self.rows.values())


async def books_of(store: Store, client: Client, cases: list[Case]) -> Books:
    numbers = [c.number for c in cases]
    async with store.begin() as uow:
        found = await uow.conn.execute(
            select(payments.c.invoice_number, payments.c.source, payments.c.reference,
                   payments.c.amount_grosze).where(payments.c.invoice_number.in_(numbers))
        )  # fmt: skip
        rows: dict[str, dict[tuple[str, str], int]] = {n: {} for n in numbers}
        for number, source, reference, amount in found:
            rows[number][(source, reference)] = int(amount)
        twice = [
            (s, r)
            for s, r, _ in await uow.conn.execute(
                select(payments.c.source, payments.c.reference, func.count())
                .where(payments.c.invoice_number.in_(numbers))
                .group_by(payments.c.source, payments.c.reference)
                .having(func.count() > 1)
            )
        ]
        states = {
            n: (s, int(due))
            for n, s, due in await uow.conn.execute(
                select(invoices.c.number, invoices.c.state, invoices.c.amount_due_grosze).where(
                    invoices.c.number.in_(numbers)
                )
            )
        }
        credits = {
            n: int(a)
            for n, a in await uow.conn.execute(
                select(partner_credits.c.invoice_number, partner_credits.c.amount_grosze).where(
                    partner_credits.c.invoice_number.in_(numbers)
                )
            )
        }
        audit: Counter[str] = Counter(
            n
            for (n,) in await uow.conn.execute(
                select(invoice_events.c.invoice_number).where(
                    invoice_events.c.invoice_number.in_(numbers),
                    invoice_events.c.event.like("payment:%"),
                )
            )
        )
    statuses = {}
    for case in cases:
        handle = client.get_workflow_handle(case.billed.workflow_id)
        statuses[case.number] = await handle.query("status", result_type=m.InvoiceStatus)
    books = Books(rows, twice, states, credits, audit, statuses)
    for case in cases:
        _check(books, case)
    return books


def _check(books: Books, case: Case) -> None:
    n, want, have = case.number, case.booked(), books.rows[case.number]
    made = {(p.source, p.reference) for p in case.paid}
    books.lost += [f"{n}: {r}" for s, r in made if (s, r) not in have and r not in case.unbooked]
    books.extra += [f"{n}: {r}" for s, r in have if r in case.unbooked or (s, r) not in made]
    state = "paid" if case.settled else "open"
    status = books.statuses[n]
    problems = []
    if have != want:
        problems.append(f"rows {sorted(have.items())} != {sorted(want.items())}")
    if books.states.get(n) != (state, case.gross):
        problems.append(f"store {books.states.get(n)} != {(state, case.gross)}")
    if books.credits.get(n, 0) != case.credit:
        problems.append(f"credit {books.credits.get(n, 0)} != {case.credit}")
    if books.audit[n] != len(have):
        problems.append(f"{books.audit[n]} payment audit rows for {len(have)} payments")
    if (status.state.value, status.paid.grosze, status.credit.grosze, status.payments) != (
        state, case.total, case.credit, len(want)
    ):  # fmt: skip
        problems.append(
            f"workflow {status.state.value} paid {status.paid.grosze} credit "
            f"{status.credit.grosze} payments {status.payments}"
        )
    if problems:
        books.wrong.append(f"{n} ({case.kind}): " + "; ".join(problems))


async def issue_all(ebok: EbokClient, cases: list[Case], parallel: int = 8) -> None:
    gate = asyncio.Semaphore(parallel)

    async def one(case: Case) -> None:
        async with gate:
            await ebok.issue_invoice(case.billed.invoice)

    await asyncio.gather(*(one(c) for c in cases))


async def delivered(relay: CountingSmtpServer, cases: list[Case]) -> None:
    """Every e-invoice at the relay (bound it with a timeout)."""
    for case in cases:
        if case.kind in EMAIL_KINDS:
            await relay.message(issued_id(case.number))


def mails_of(relay: CountingSmtpServer, cases: list[Case]) -> dict[str, int]:
    """Invoice mails at the relay by Message-ID, and how many copies of each."""
    ours = {mid for c in cases for mid in (issued_id(c.number), paid_id(c.number))}
    return {mid: n for mid, c in relay.copies.items() if mid in ours and (n := len(c))}
