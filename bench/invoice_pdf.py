"""``python -m bench.invoice_pdf --n 100``: what rendering one invoice PDF costs, in process.

The billing worker renders the PDF of every e-invoice in its delivery activity, and that render
is most of the worker's CPU per invoice (``python -m bench billing`` measures the whole path).
This bench isolates it: the demo invoice (``ebok/demo/invoice.json``: two lines, 245,67 zł,
the buyer's name and address with Polish letters, a pay-online link) is rendered ``--n`` times,
each with its own number, after ``--warmup`` renders that are not counted (the first one of a
process also reads which characters the fonts have: it is printed apart; fpdf2 reads the
faces themselves for every document). ``--lines`` gives the invoice more lines (60 make
three pages). Figures: milliseconds per render (wall clock; the machine is shared, so
CPU time is printed beside it) and the size of one PDF.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import date
from decimal import Decimal
from typing import Any

from bench.child import REPO
from ebok.documents.invoice_pdf import (
    InvoiceDocument,
    InvoiceLine,
    Party,
    VatTotal,
    render_invoice_pdf,
)
from ebok.money import Money

DEMO = REPO / "ebok" / "demo" / "invoice.json"
SELLER = Party("eBOK Energia sp. z o.o.", ("ul. Przykładowa 1", "00-001 Warszawa"), "5260250995")
BUYER = Party("Jan Kowalski", ("ul. Łąkowa 7 m. 3", "02-001 Warszawa"))
PAY_URL = "https://ebok.example.pl/pay/SBX0000000101"


def _line(raw: dict[str, Any]) -> InvoiceLine:
    return InvoiceLine(
        description=raw["description"],
        quantity=Decimal(raw["quantity"]),
        unit=raw["unit"],
        unit_price_net=Decimal(raw["unit_price_net"]),
        vat_rate=int(raw["vat_rate"]),
        net=Money(raw["net"]),
        vat=Money(raw["vat"]),
        gross=Money(raw["gross"]),
    )


def document(i: int, lines: int) -> InvoiceDocument:
    """The demo invoice numbered ``i``, its lines repeated up to ``lines``."""
    demo = json.loads(DEMO.read_text(encoding="utf-8"))
    raw = demo["lines"]
    items = tuple(_line(raw[k % len(raw)]) for k in range(max(lines, 1)))
    net = sum((item.net for item in items), Money.ZERO)
    vat = sum((item.vat for item in items), Money.ZERO)
    return InvoiceDocument(
        number=f"FV/2026/12/{i:06d}",
        issue_date=date.fromisoformat(demo["issue_date"]),
        period_from=date.fromisoformat(demo["period_from"]),
        period_to=date.fromisoformat(demo["period_to"]),
        due_date=date.fromisoformat(demo["due_date"]),
        seller=SELLER,
        buyer=BUYER,
        partner_number=demo["partner_number"],
        contract_account=demo["contract_account"],
        ppes=(demo["ppe"],),
        lines=items,
        vat_totals=(VatTotal(23, net, vat, net + vat),),
        gross_total=net + vat,
        nrb=demo["nrb"],
        pay_url=PAY_URL,
    )


def _ms(seconds: float) -> float:
    return seconds * 1000


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.invoice_pdf", description=__doc__)
    p.add_argument("--n", type=int, default=100, help="measured renders")
    p.add_argument("--warmup", type=int, default=5, help="renders first, not counted")
    p.add_argument("--lines", type=int, default=2, help="invoice lines (the demo's two repeated)")
    args = p.parse_args(argv)
    if args.n < 1 or args.warmup < 1:
        p.error("--n and --warmup must be at least 1")
    docs = [document(i, args.lines) for i in range(1, args.warmup + args.n + 1)]

    start = time.perf_counter()
    render_invoice_pdf(docs[0])
    first = time.perf_counter() - start
    for doc in docs[1 : args.warmup]:
        render_invoice_pdf(doc)

    walls: list[float] = []
    sizes: list[int] = []
    cpu_start = time.process_time()
    for doc in docs[args.warmup :]:
        start = time.perf_counter()
        pdf = render_invoice_pdf(doc)
        walls.append(time.perf_counter() - start)
        sizes.append(len(pdf))
    cpu = time.process_time() - cpu_start

    walls.sort()
    p95 = walls[min(len(walls) - 1, round(0.95 * (len(walls) - 1)))]
    print(
        f"invoice PDF, {args.lines} lines, n={args.n}: "
        f"mean {_ms(statistics.fmean(walls)):.1f} ms, p50 {_ms(statistics.median(walls)):.1f} ms, "
        f"p95 {_ms(p95):.1f} ms per render (CPU {_ms(cpu / args.n):.1f} ms); "
        f"{round(statistics.fmean(sizes))} bytes per PDF; first render {_ms(first):.0f} ms"
    )


if __name__ == "__main__":
    main()
