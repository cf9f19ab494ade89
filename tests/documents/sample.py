"""A sample invoice for the document tests, and the PDF it makes checked and read back."""

from __future__ import annotations

import dataclasses
import io
import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pikepdf

from ebok.documents.fonts import FontFiles
from ebok.documents.invoice_pdf import (
    InvoiceDocument,
    InvoiceLine,
    Party,
    VatTotal,
    render_invoice_pdf,
)
from ebok.money import Money

PDFTOTEXT = "/usr/bin/pdftotext"
NBSP = "\u00a0"
NRB = "61109010140000071219812874"
PPE = "590380100000012344"
SELLER = Party(
    "Sprzedawca Energii Sp. z o.o.", ("ul. Żółkiewskiego 1", "00-950 Warszawa"), "5260250995"
)
BUYER = Party("Zażółć Gęślą Jaźń", ("ul. Łąkowa 7 m. 3", "02-001 Warszawa"))


def a_line(description: str = "Energia czynna całodobowa", net: int = 100_000) -> InvoiceLine:
    vat = net * 23 // 100
    return InvoiceLine(
        description=description,
        quantity=Decimal("1612.903"),
        unit="kWh",
        unit_price_net=Decimal("0.6200"),
        vat_rate=23,
        net=Money(net),
        vat=Money(vat),
        gross=Money(net + vat),
    )


def an_invoice(lines: tuple[InvoiceLine, ...] | None = None, **changes: Any) -> InvoiceDocument:
    lines = lines or (a_line(), a_line("Opłata sieciowa zmienna", net=3_456))
    net = sum((line.net for line in lines), Money.ZERO)
    vat = sum((line.vat for line in lines), Money.ZERO)
    doc = InvoiceDocument(
        number="FV/2026/11/000101",
        issue_date=date(2026, 11, 5),
        period_from=date(2026, 10, 1),
        period_to=date(2026, 10, 31),
        due_date=date(2026, 11, 19),
        seller=SELLER,
        buyer=BUYER,
        partner_number="1000000101",
        contract_account="200000000101",
        ppes=(PPE,),
        lines=lines,
        vat_totals=(VatTotal(23, net, vat, net + vat),),
        gross_total=net + vat,
        nrb=NRB,
        pay_url="https://ebok.example.pl/pay/abc123",
        amount_in_words="jeden tysiąc dwieście siedemdziesiąt dwa złote 50/100",
    )
    return dataclasses.replace(doc, **changes)


def structure_problems(pdf: bytes) -> list[str]:
    """What qpdf (through pikepdf) finds wrong in the file's structure: nothing, we expect."""
    with pikepdf.open(io.BytesIO(pdf)) as opened:
        return list(opened.check_pdf_syntax())


def rendered(doc: InvoiceDocument, fonts: FontFiles | None = None) -> bytes:
    """The document's PDF, checked by a PDF library before a test looks at it."""
    pdf = render_invoice_pdf(doc, fonts=fonts)
    assert structure_problems(pdf) == []
    return pdf


def text_of(pdf: bytes, tmp_path: Path, *options: str) -> str:
    """What poppler's pdftotext reads from ``pdf``: pages end with a form feed."""
    path = tmp_path / "invoice.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(
        [PDFTOTEXT, "-enc", "UTF-8", *options, str(path), "-"],
        capture_output=True,
        check=True,
        timeout=30,
    )
    return done.stdout.decode("utf-8")


def flat(text: str) -> str:
    """pdftotext may render U+00A0 as a plain space."""
    return text.replace(NBSP, " ")
