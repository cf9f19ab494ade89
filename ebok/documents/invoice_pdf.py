"""An invoice or correction as PDF bytes (DejaVu Sans, so Polish letters survive), by fpdf2.

The same document gives the same bytes: the PDF's creation date is the issue date and the
font is the packaged copy, so a retried activity stores and mails an identical file.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal

from fpdf.enums import MethodReturnValue
from fpdf.fonts import FontFace

from ebok.documents.fonts import FontFiles, find_fonts
from ebok.documents.invoice import (
    Correction,
    InvoiceDocument,
    InvoiceLine,
    Party,
    VatTotal,
)
from ebok.documents.invoice_page import MARGIN, InvoicePage
from ebok.ids import format_nrb
from ebok.money import GROUP_SEPARATOR, Money

__all__ = ["Correction", "InvoiceDocument", "InvoiceLine", "Party", "VatTotal"]
__all__ += ["render_invoice_pdf"]

LEFT, RIGHT_X = MARGIN, 115.0  # the two columns of the header blocks, mm
PARTY_W = RIGHT_X - LEFT - 5
# Lp., description, quantity, unit, unit price, VAT %, net, VAT, gross (mm; 180 in all).
COLUMNS = (7, 51, 17, 10, 19, 10, 22, 20, 24)
HEADINGS = ("Lp.", "Opis", "Ilość", "J.m.", "Cena netto", "VAT", "Netto", "Kwota VAT", "Brutto")
ALIGN = ("R", "L", "R", "L", "R", "R", "R", "R", "R")
VAT_COLUMNS = (20, 30, 30, 30)
VAT_HEADINGS = ("Stawka VAT", "Netto", "Kwota VAT", "Brutto")
VAT_ALIGN = ("L", "R", "R", "R")
TABLE_SIZE = 7.5  # pt
ROW_LINE = 4.0  # mm per line of a table cell
PAD = 0.8  # mm around a cell's text
# Lines of a table row at most (200 mm): fpdf2 refuses a row higher than a page, so a cell
# with more is continued in the rows under it. A text shorter than this cannot have more.
ROW_LINES = 50
HEADING = FontFace(emphasis="BOLD", fill_color=(235, 235, 235))
LINK_COLOR = (0, 70, 160)


def _day(value: date) -> str:
    return value.strftime("%d.%m.%Y")


def _decimal(value: Decimal | Money) -> str:
    """Polish notation without a unit: "1 234,5678"."""
    number = value.to_decimal() if isinstance(value, Money) else value
    return f"{number:,f}".replace(",", GROUP_SEPARATOR).replace(".", ",")


def _title(correction: Correction | None) -> str:
    return "Faktura korygująca" if correction else "Faktura VAT"


def _party(pdf: InvoicePage, label: str, party: Party) -> None:
    pdf.line_of(label, size=8, bold=True, w=PARTY_W)
    pdf.line_of(party.name, bold=True, w=PARTY_W)
    for line in party.address:
        pdf.line_of(line, w=PARTY_W)
    if party.nip:
        pdf.line_of(f"NIP: {party.nip}", w=PARTY_W)


def _header(pdf: InvoicePage, doc: InvoiceDocument) -> None:
    top = pdf.y
    pdf.set_xy(LEFT, top)
    _party(pdf, "Sprzedawca", doc.seller)
    bottom = pdf.y
    pdf.set_xy(RIGHT_X, top)
    pdf.line_of(_title(doc.correction), size=14, bold=True, h=7)
    pdf.line_of(f"nr {doc.number}", size=11, bold=True, h=6)
    pdf.line_of(f"Data wystawienia: {_day(doc.issue_date)}")
    pdf.line_of(f"Okres rozliczeniowy: {_day(doc.period_from)} – {_day(doc.period_to)}")
    pdf.line_of(f"Termin płatności: {_day(doc.due_date)}", bold=True)
    top = max(bottom, pdf.y) + 5
    pdf.set_xy(LEFT, top)
    _party(pdf, "Nabywca", doc.buyer)
    bottom = pdf.y
    pdf.set_xy(RIGHT_X, top)
    pdf.line_of(f"Numer partnera: {doc.partner_number}")
    pdf.line_of(f"Konto umowy: {doc.contract_account}")
    for ppe in doc.ppes:
        pdf.line_of(f"PPE: {ppe}")
    pdf.set_xy(LEFT, max(bottom, pdf.y) + 4)
    if doc.correction:
        c = doc.correction
        corrected = f"nr {c.corrected_number} z dnia {_day(c.corrected_issue_date)}"
        pdf.line_of(f"Korekta faktury {corrected}")
        pdf.line_of(f"Przyczyna korekty: {c.reason}")
        pdf.ln(3)


def _table(
    pdf: InvoicePage,
    widths: Sequence[float],
    align: Sequence[str],
    headings: Sequence[str],
    rows: Sequence[Sequence[str]],
) -> None:
    """A ruled table at the left margin; its headings again at the top of every new page."""
    pdf.use(size=TABLE_SIZE)
    with pdf.table(
        width=sum(widths),
        col_widths=widths,
        align="LEFT",
        text_align=tuple(align),
        line_height=ROW_LINE,
        padding=PAD,
        headings_style=HEADING,
        repeat_headings=1,
    ) as table:
        heading = table.row()
        for text in headings:
            heading.cell(text, align="C")
        for cells in rows:
            printable = [pdf.text_of(text, newlines=True) for text in cells]
            for part in _within_a_page(pdf, widths, printable):
                table.row(part)
    pdf.set_x(LEFT)
    pdf.ln(4)


def _within_a_page(
    pdf: InvoicePage, widths: Sequence[float], cells: Sequence[str]
) -> list[list[str]]:
    """``cells`` as one row or, where a cell has more than ROW_LINES lines, as rows that
    continue it: each with the next lines of every such cell, the other cells empty."""
    parts: list[list[str]] = []
    for width, text in zip(widths, cells, strict=True):
        if len(text) < ROW_LINES:
            parts.append([text])
            continue
        # Broken a little narrower than the table does (the dry run keeps fpdf2's cell
        # margins inside the padding), so each of these lines stays one line in the table.
        lines = pdf.multi_cell(
            width - 2 * PAD, ROW_LINE, text, dry_run=True, output=MethodReturnValue.LINES
        )
        assert isinstance(lines, list)  # what output=LINES returns
        parts.append(["\n".join(lines[i : i + ROW_LINES]) for i in range(0, len(lines), ROW_LINES)])
    rows = max(len(part) for part in parts)
    return [[part[i] if i < len(part) else "" for part in parts] for i in range(rows)]


def _line_row(number: int, line: InvoiceLine) -> list[str]:
    amounts = [line.net, line.vat, line.gross]
    return [
        f"{number}.",
        line.description,
        _decimal(line.quantity),
        line.unit,
        _decimal(line.unit_price_net),
        f"{line.vat_rate}%",
        *(amount.format_pl() for amount in amounts),
    ]


def _vat_rows(totals: Sequence[VatTotal], gross: Money) -> list[list[str]]:
    rows = []
    for t in sorted(totals, key=lambda t: -t.vat_rate):
        rows.append([f"{t.vat_rate}%", t.net.format_pl(), t.vat.format_pl(), t.gross.format_pl()])
    net = sum((t.net for t in totals), Money.ZERO)
    vat = sum((t.vat for t in totals), Money.ZERO)
    rows.append(["Razem", net.format_pl(), vat.format_pl(), gross.format_pl()])
    return rows


def _payment(pdf: InvoicePage, doc: InvoiceDocument) -> None:
    pdf.set_x(LEFT)
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
        pdf.ln(2)
        pdf.line_of("Zapłać online:", size=10, bold=True, h=5)
        pdf.line_of(doc.pay_url, link=doc.pay_url, color=LINK_COLOR)


def render_invoice_pdf(doc: InvoiceDocument, *, fonts: FontFiles | None = None) -> bytes:
    """The invoice as a PDF (A4). Raises FontNotFound if DejaVu Sans is nowhere to be found."""
    fonts = fonts or find_fonts()
    # A fixed creation date: the same document, the same bytes.
    created = datetime.combine(doc.issue_date, time(0), tzinfo=UTC)
    label = f"{_title(doc.correction)} nr {doc.number}"  # printable: the number is ASCII
    pdf = InvoicePage(fonts, label=label, created=created)
    pdf.set_title(label)
    pdf.set_author(pdf.text_of(doc.seller.name))
    _header(pdf, doc)
    lines = [_line_row(i, line) for i, line in enumerate(doc.lines, start=1)]
    _table(pdf, COLUMNS, ALIGN, HEADINGS, lines)
    vat_rows = _vat_rows(doc.vat_totals, doc.gross_total)
    _table(pdf, VAT_COLUMNS, VAT_ALIGN, VAT_HEADINGS, vat_rows)
    _payment(pdf, doc)
    return bytes(pdf.output())
