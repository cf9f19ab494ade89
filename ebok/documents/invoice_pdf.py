"""An invoice or correction as PDF bytes (DejaVu Sans, so Polish letters survive).

The same document gives the same bytes: the PDF's creation date is the issue date and the
font is the packaged copy, so a retried activity stores and mails an identical file.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal

from ebok.documents.fonts import FontFiles, find_fonts, printable
from ebok.documents.invoice import (
    Correction,
    InvoiceDocument,
    InvoiceLine,
    Party,
    VatTotal,
)
from ebok.documents.pdf_fonts import load_face
from ebok.documents.pdf_layout import Flow
from ebok.documents.pdf_table import draw_table
from ebok.ids import format_nrb
from ebok.money import GROUP_SEPARATOR, Money

__all__ = [
    "Correction", "InvoiceDocument", "InvoiceLine", "Party", "VatTotal", "render_invoice_pdf",
]  # fmt: skip

LEFT, RIGHT_X, RIGHT_W = 15.0, 115.0, 80.0
# Lp., description, quantity, unit, unit price, VAT %, net, VAT, gross (mm; 180 in all).
COLUMNS = (7, 51, 17, 10, 19, 10, 22, 20, 24)
HEADINGS = ("Lp.", "Opis", "Ilość", "J.m.", "Cena netto", "VAT", "Netto", "Kwota VAT", "Brutto")
ALIGN = ("R", "L", "R", "L", "R", "R", "R", "R", "R")
LINK_COLOR = (0, 70, 160)


def _day(value: date) -> str:
    return value.strftime("%d.%m.%Y")


def _decimal(value: Decimal | Money) -> str:
    """Polish notation without a unit: "1 234,5678"."""
    number = value.to_decimal() if isinstance(value, Money) else value
    return f"{number:,f}".replace(",", GROUP_SEPARATOR).replace(".", ",")


class _Pdf(Flow):
    def __init__(self, fonts: FontFiles) -> None:
        super().__init__(load_face(fonts.regular), load_face(fonts.bold))
        self.add_page()

    def text_of(self, text: str, *, newlines: bool = False) -> str:
        """``text`` with only what the font can draw (see ``printable``)."""
        if self.face.plain.issuperset(text):  # nearly every text: nothing to replace
            return text
        return printable(text, self.face.cmap, newlines=newlines)

    def line_of(
        self,
        text: str,
        *,
        size: float = 9,
        bold: bool = False,
        h: float = 4.6,
        w: float = 0,
        link: str = "",
    ) -> None:
        """One paragraph wrapped at ``w`` (0: the right margin), then back to the same x on
        the next line: header blocks are two columns side by side. ``link``: the text is a
        link to that address."""
        self.set_font(bold=bold, size=size)
        if not w:
            w = self.width if self.x < RIGHT_X else RIGHT_W
        self.paragraph(w, h, self.text_of(text), link)


def _party(pdf: _Pdf, label: str, party: Party) -> None:
    w = RIGHT_X - LEFT - 5
    pdf.line_of(label, size=8, bold=True, w=w)
    pdf.line_of(party.name, bold=True, w=w)
    for line in party.address:
        pdf.line_of(line, w=w)
    if party.nip:
        pdf.line_of(f"NIP: {party.nip}", w=w)


def _header(pdf: _Pdf, doc: InvoiceDocument) -> None:
    top = pdf.y
    pdf.x = LEFT
    _party(pdf, "Sprzedawca", doc.seller)
    bottom = pdf.y
    pdf.x, pdf.y = RIGHT_X, top
    pdf.line_of(_title(doc.correction), size=14, bold=True, h=7)
    pdf.line_of(f"nr {doc.number}", size=11, bold=True, h=6)
    pdf.line_of(f"Data wystawienia: {_day(doc.issue_date)}")
    pdf.line_of(f"Okres rozliczeniowy: {_day(doc.period_from)} – {_day(doc.period_to)}")
    pdf.line_of(f"Termin płatności: {_day(doc.due_date)}", bold=True)
    pdf.x, pdf.y = LEFT, max(bottom, pdf.y) + 5
    buyer_top = pdf.y
    _party(pdf, "Nabywca", doc.buyer)
    bottom = pdf.y
    pdf.x, pdf.y = RIGHT_X, buyer_top
    pdf.line_of(f"Numer partnera: {doc.partner_number}")
    pdf.line_of(f"Konto umowy: {doc.contract_account}")
    for ppe in doc.ppes:
        pdf.line_of(f"PPE: {ppe}")
    pdf.x, pdf.y = LEFT, max(bottom, pdf.y) + 4
    if doc.correction:
        c = doc.correction
        pdf.line_of(
            f"Korekta faktury nr {c.corrected_number} z dnia {_day(c.corrected_issue_date)}"
        )
        pdf.line_of(f"Przyczyna korekty: {c.reason}")
        pdf.new_line(3)


def _title(correction: Correction | None) -> str:
    return "Faktura korygująca" if correction else "Faktura VAT"


def _table(pdf: _Pdf, widths: Sequence[float], align: Sequence[str], rows: list[list[str]]) -> None:
    pdf.set_font(size=7.5)
    draw_table(pdf, LEFT, widths, align, [[pdf.text_of(c, newlines=True) for c in r] for r in rows])
    pdf.new_line(4)


def _line_row(number: int, line: InvoiceLine) -> list[str]:
    return [
        f"{number}.", line.description, _decimal(line.quantity), line.unit,
        _decimal(line.unit_price_net), f"{line.vat_rate}%", line.net.format_pl(),
        line.vat.format_pl(), line.gross.format_pl(),
    ]  # fmt: skip


def _vat_rows(totals: Sequence[VatTotal], gross: Money) -> list[list[str]]:
    rows = [["Stawka VAT", "Netto", "Kwota VAT", "Brutto"]]
    for t in sorted(totals, key=lambda t: -t.vat_rate):
        rows.append([f"{t.vat_rate}%", t.net.format_pl(), t.vat.format_pl(), t.gross.format_pl()])
    net = sum((t.net for t in totals), Money.ZERO)
    vat = sum((t.vat for t in totals), Money.ZERO)
    rows.append(["Razem", net.format_pl(), vat.format_pl(), gross.format_pl()])
    return rows


def _payment(pdf: _Pdf, doc: InvoiceDocument) -> None:
    pdf.x = LEFT
    if doc.gross_total.grosze < 0:
        pdf.line_of(f"Kwota do zwrotu: {abs(doc.gross_total).format_pl()}", size=12, bold=True)
    else:
        pdf.line_of(f"Należność do zapłaty: {doc.gross_total.format_pl()}", size=12, bold=True)
    if doc.amount_in_words:
        pdf.line_of(f"Słownie: {doc.amount_in_words}")
    pdf.line_of(f"Termin płatności: {_day(doc.due_date)}")
    pdf.line_of(f"Numer rachunku do wpłaty: {format_nrb(doc.nrb)}", bold=True)
    pdf.line_of("Rachunek jest przypisany tylko do Ciebie: wpłata na niego trafia na Twoje konto.")
    if doc.pay_url and doc.gross_total.grosze > 0:
        pdf.new_line(2)
        pdf.line_of("Zapłać online:", size=10, bold=True, h=5)
        pdf.color = LINK_COLOR
        pdf.line_of(doc.pay_url, link=doc.pay_url)
        pdf.color = (0, 0, 0)


def render_invoice_pdf(doc: InvoiceDocument, *, fonts: FontFiles | None = None) -> bytes:
    """The invoice as a PDF (A4). Raises FontNotFound if DejaVu Sans is nowhere to be found."""
    pdf = _Pdf(fonts or find_fonts())
    title = pdf.text_of(f"{_title(doc.correction)} nr {doc.number}")
    _header(pdf, doc)
    lines = [_line_row(i, line) for i, line in enumerate(doc.lines, start=1)]
    _table(pdf, COLUMNS, ALIGN, [list(HEADINGS), *lines])
    _table(pdf, (20, 30, 30, 30), ("L", "R", "R", "R"), _vat_rows(doc.vat_totals, doc.gross_total))
    _payment(pdf, doc)
    pdf.footers(title)
    return pdf.canvas.output(
        title=title,
        author=pdf.text_of(doc.seller.name),
        lang="pl",
        # A fixed creation date: the same document, the same bytes.
        created=datetime.combine(doc.issue_date, time(0), tzinfo=UTC),
    )
