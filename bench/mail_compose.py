"""``python -m bench.mail_compose --n 500``: what composing one mail costs, in process.

Every process sends mail (activation and welcome, e-invoice links, invoices, outage notices),
and after the SDK's own work that is most of the worker's CPU. This bench isolates it for two
kinds of mail, each ``--n`` times after ``--warmup`` unmeasured ones:

- **activation**: the registration's activation mail (Polish templates, text and HTML, a
  link with a fresh token) to an address of its own;
- **invoice**: the e-invoice notice with its PDF attached (the demo invoice rendered once
  by ``ebok.documents``, about 28 KB; each mail gets a copy of its own).

Each mail goes the worker's way from the templates to the bytes the SMTP adapter hands to the
relay: ``compose`` (``MailComposer.compose``: the templates rendered into an
``OutgoingEmail``) and ``wire`` (``adapters.email.mime.render``: the envelope and the MIME
message as the bytes handed to the relay). Figures:
CPU milliseconds per mail for each step and in all (``time.process_time``), the wall-clock
p50 and p95 of the whole, and the bytes per mail.

``--smtp`` also sends ``--n`` mails of each kind, composed as above, through the SMTP adapter
(``SmtpSender``, one pooled connection) to a local SMTP server (``entrypoints.devsmtp``) over a real
socket. The server runs on a thread of its own, and only the sending thread's CPU
(``time.thread_time``) is counted: composing, building, the SMTP dialogue on the client side.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import secrets
import statistics
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from activities.mail import MailComposer, local_time, message_id
from adapters.email.base import Attachment, OutgoingEmail
from adapters.email.mime import render
from adapters.email.smtp import SmtpSender
from bench.invoice_pdf import document
from ebok.documents.invoice_pdf import render_invoice_pdf
from ebok.settings import Settings, SmtpSecurity
from entrypoints.devsmtp import DevSmtpServer

SETTINGS = Settings()
Kind = Callable[[int], OutgoingEmail]


def kinds(composer: MailComposer) -> dict[str, Kind]:
    """The two kinds of mail, each a function of the mail's number."""
    pdf = render_invoice_pdf(document(1, 2))
    expires = local_time(datetime(2026, 12, 4, 9, 30, tzinfo=UTC) + timedelta(hours=72))

    def activation(i: int) -> OutgoingEmail:
        registration = f"{i:032x}"
        return composer.compose(
            "activation", "pl", f"jan.kowalski.{i}@example.pl",
            message_id("activation", registration, 1, composer.domain),
            login=f"jan.kowalski{i}",
            link=SETTINGS.link("aktywacja", token=secrets.token_urlsafe(32)),
            expires_at=expires,
        )  # fmt: skip

    def invoice(i: int) -> OutgoingEmail:
        number = f"FV/2026/12/{i:06d}"
        mail = composer.compose(
            "invoice_notice", "pl", f"anna.nowak.{i}@example.pl",
            message_id("invoice-issued", number, 1, composer.domain),
            kind="issued", number=number, amount="245,67 zł", due_date="18.12.2026",
            nrb="12 3456 7890 1234 5678 9012 3456", pay_url=f"https://pay.example.pl/SBX{i:010d}",
            notice_until="", interest="0,00 zł",
        )  # fmt: skip
        # A copy per mail (as each invoice has its own PDF), made before the clock runs.
        data = pdf + f"%{i}\n".encode()
        name = f"Faktura_FV_2026_12_{i:06d}.pdf"
        return dataclasses.replace(mail, attachments=(Attachment(name, "application/pdf", data),))

    return {"activation": activation, "invoice": invoice}


def _ms(seconds: float) -> float:
    return seconds * 1000


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def compose_and_wire(name: str, kind: Kind, n: int, warmup: int) -> str:
    """``n`` mails of one kind from the templates to the bytes for the relay, timed by step."""
    for i in range(warmup):
        render(kind(i))
    cpu_compose = cpu_wire = 0.0
    walls: list[float] = []
    sizes: list[int] = []
    for i in range(warmup, warmup + n):
        wall, cpu = time.perf_counter(), time.process_time()
        mail = kind(i)
        composed = time.process_time()
        data, _ = render(mail)
        done = time.process_time()
        walls.append(time.perf_counter() - wall)
        cpu_compose += composed - cpu
        cpu_wire += done - composed
        sizes.append(len(data))
    return (
        f"{name:10} n={n}: CPU {_ms((cpu_compose + cpu_wire) / n):.2f} ms per mail "
        f"(compose {_ms(cpu_compose / n):.2f}, wire {_ms(cpu_wire / n):.2f}); "
        f"wall p50 {_ms(statistics.median(walls)):.2f} ms, p95 {_ms(_p95(walls)):.2f} ms; "
        f"{round(statistics.fmean(sizes))} bytes per mail"
    )


@contextmanager
def smtp_server() -> Iterator[DevSmtpServer]:
    """A DevSmtpServer on an event loop of its own thread, so its CPU is not the sender's."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="smtpd", daemon=True)
    thread.start()

    def call(coro: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=30)

    server = DevSmtpServer()
    call(server.start())
    try:
        yield server
    finally:
        call(server.stop())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()


async def send(
    name: str, kind: Kind, n: int, warmup: int, server: DevSmtpServer, first: int = 0
) -> str:
    """``n`` mails of one kind, numbered from ``first``, composed and sent; CPU of this thread
    only."""
    sender = SmtpSender("127.0.0.1", server.port, security=SmtpSecurity.NONE, pool_size=1)
    try:
        for i in range(first, first + warmup):
            await sender.send(kind(i))
        walls: list[float] = []
        cpu = time.thread_time()
        for i in range(first + warmup, first + warmup + n):
            wall = time.perf_counter()
            await sender.send(kind(i))
            walls.append(time.perf_counter() - wall)
        cpu = time.thread_time() - cpu
    finally:
        await sender.aclose()
    return (
        f"{name:10} n={n}: CPU {_ms(cpu / n):.2f} ms per mail composed and sent over SMTP; "
        f"wall p50 {_ms(statistics.median(walls)):.2f} ms, p95 {_ms(_p95(walls)):.2f} ms"
    )


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.mail_compose", description=__doc__)
    p.add_argument("--n", type=int, default=500, help="measured mails of each kind")
    p.add_argument("--warmup", type=int, default=20, help="mails of each kind first, not counted")
    p.add_argument("--smtp", action="store_true", help="also send them to a local SMTP server")
    args = p.parse_args(argv)
    if args.n < 1 or args.warmup < 1:
        p.error("--n and --warmup must be at least 1")
    composer = MailComposer(SETTINGS.mail_from)
    mails = kinds(composer)
    for name, kind in mails.items():
        print(compose_and_wire(name, kind, args.n, args.warmup))
    if args.smtp:
        with smtp_server() as server:
            for name, kind in mails.items():
                # Numbered past the first pass: every mail has a recipient of its own.
                first = args.warmup + args.n
                print(asyncio.run(send(name, kind, args.n, args.warmup, server, first)))


if __name__ == "__main__":
    main()
