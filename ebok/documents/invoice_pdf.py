"""An invoice or correction as PDF bytes (fpdf2, DejaVu Sans so Polish letters survive).

The same document gives the same bytes: the PDF's creation date is the issue date and the
font is the packaged copy, so a retried activity stores and mails an identical file.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal

from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos
from fpdf.fonts import TTFFont

from ebok.documents.fonts import FontFiles, find_fonts, printable
from ebok.documents.invoice import (
    Correction,
    InvoiceDocument,
    InvoiceLine,
    Party,
    VatTotal,
)
from ebok.documents.pdf_faces import FAMILY, ReusedFonts, faces, fresh, only_common
from ebok.documents.pdf_table import draw_table
from ebok.documents.pdf_text import put_line, width_of
from ebok.ids import format_nrb
from ebok.money import GROUP_SEPARATOR, Money

__all__ = [
    "Correction", "InvoiceDocument", "InvoiceLine", "Party", "VatTotal", "render_invoice_pdf",
]  # fmt: skip

# fpdf2 substitutes the page count for this text at output. Private-use characters never
# survive printable(), so no customer text can contain it.
PAGES = "\ue000nb\ue000"
LEFT, RIGHT_X, RIGHT_W = 15.0, 115.0, 80.0
# Lp., description, quantity, unit, unit price, VAT %, net, VAT, gross (mm; 180 in all).
COLUMNS = (7, 51, 17, 10, 19, 10, 22, 20, 24)
HEADINGS = ("Lp.", "Opis", "Ilość", "J.m.", "Cena netto", "VAT", "Netto", "Kwota VAT", "Brutto")
ALIGN = ("R", "L", "R", "L", "R", "R", "R", "R", "R")


def _day(value: date) -> str:
    return value.strftime("%d.%m.%Y")


def _decimal(value: Decimal | Money) -> str:
    """Polish notation without a unit: "1 234,5678"."""
    number = value.to_decimal() if isinstance(value, Money) else value
    return f"{number:,f}".replace(",", GROUP_SEPARATOR).replace(".", ",")


class _Pdf(FPDF):
    def __init__(self, fonts: FontFiles, title: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.faces = {face.key: face for face in faces(fonts)}
        for face in self.faces.values():
            self.fonts[face.key] = fresh(face)
        font = self.fonts[FAMILY.lower()]
        assert isinstance(font, TTFFont)
        self.cmap = font.cmap
        self.alias_nb_pages(PAGES)
        self.set_margins(LEFT, 15, 15)
        self.set_auto_page_break(auto=True, margin=18)
        self.footer_title = title

    def pdf_bytes(self) -> bytes:
        """The PDF. A face whose glyphs this document takes all from COMMON is subset from
        the face cut down to COMMON: the same glyphs, a third of the time. When every face
        drew COMMON characters only, the fonts' objects are those of the first such PDF."""
        reuse = True
        for key, face in self.faces.items():
            font = self.fonts[key]
            assert isinstance(font, TTFFont)
            if set(font.subset.get_all_glyph_names()) <= face.common.glyphs:
                font.ttfont = face.common.open()
            reuse = reuse and only_common(face, font)
        return bytes(self.output(output_producer_class=ReusedFonts) if reuse else self.output())

    def text_of(self, text: str, *, newlines: bool = False) -> str:
        return printable(text, self.cmap, newlines=newlines)

    def footer(self) -> None:
        self.set_y(-13)
        self.set_font(FAMILY, size=7)
        label = f"{self.footer_title} · strona {self.page_no()} z {PAGES}"
        self.cell(0, 5, label, align=Align.R)

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
        self.set_font(FAMILY, "B" if bold else "", size)
        if not w and self.get_x() < RIGHT_X:
            w = self.epw
        elif not w:
            w = RIGHT_W
        text = self.text_of(text)
        # A line that fits is drawn at once; multi_cell would lay it out to find that out.
        width = width_of(self, text)
        if width <= w - 2 * self.c_margin:
            if self.will_page_break(h):  # as cell would: on the next page, at the same x
                x = self.get_x()
                self.add_page(same=True)
                self.set_x(x)
            put_line(self, w, h, text)
            if link:
                self.link(self.get_x() + self.c_margin, self.get_y(), width, h, link)
            self.set_xy(self.get_x(), self.get_y() + h)
        else:
            self.multi_cell(w, h, text, new_x=XPos.LEFT, new_y=YPos.NEXT, link=link or None)


def _party(pdf: _Pdf, label: str, party: Party) -> None:
    w = RIGHT_X - LEFT - 5
    pdf.line_of(label, size=8, bold=True, w=w)
    pdf.line_of(party.name, bold=True, w=w)
    for line in party.address:
        pdf.line_of(line, w=w)
    if party.nip:
        pdf.line_of(f"NIP: {party.nip}", w=w)


def _header(pdf: _Pdf, doc: InvoiceDocument) -> None:
    top = pdf.get_y()
    pdf.set_xy(LEFT, top)
    _party(pdf, "Sprzedawca", doc.seller)
    bottom = pdf.get_y()
    pdf.set_xy(RIGHT_X, top)
    pdf.line_of(_title(doc.correction), size=14, bold=True, h=7)
    pdf.line_of(f"nr {doc.number}", size=11, bold=True, h=6)
    pdf.line_of(f"Data wystawienia: {_day(doc.issue_date)}")
    pdf.line_of(f"Okres rozliczeniowy: {_day(doc.period_from)} – {_day(doc.period_to)}")
    pdf.line_of(f"Termin płatności: {_day(doc.due_date)}", bold=True)
    pdf.set_xy(LEFT, max(bottom, pdf.get_y()) + 5)
    buyer_top = pdf.get_y()
    _party(pdf, "Nabywca", doc.buyer)
    bottom = pdf.get_y()
    pdf.set_xy(RIGHT_X, buyer_top)
    pdf.line_of(f"Numer partnera: {doc.partner_number}")
    pdf.line_of(f"Konto umowy: {doc.contract_account}")
    for ppe in doc.ppes:
        pdf.line_of(f"PPE: {ppe}")
    pdf.set_xy(LEFT, max(bottom, pdf.get_y()) + 4)
    if doc.correction:
        c = doc.correction
        pdf.line_of(
            f"Korekta faktury nr {c.corrected_number} z dnia {_day(c.corrected_issue_date)}"
        )
        pdf.line_of(f"Przyczyna korekty: {c.reason}")
        pdf.ln(3)


def _title(correction: Correction | None) -> str:
    return "Faktura korygująca" if correction else "Faktura VAT"


def _table(pdf: _Pdf, widths: Sequence[float], align: Sequence[str], rows: list[list[str]]) -> None:
    pdf.set_font(FAMILY, size=7.5)
    draw_table(pdf, LEFT, widths, align, [[pdf.text_of(c, newlines=True) for c in r] for r in rows])
    pdf.ln(4)


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
        pdf.set_font(FAMILY, "", 9)
        pdf.set_text_color(0, 70, 160)
        pdf.line_of(doc.pay_url, link=doc.pay_url)
        pdf.set_text_color(0, 0, 0)


def render_invoice_pdf(doc: InvoiceDocument, *, fonts: FontFiles | None = None) -> bytes:
    """The invoice as a PDF (A4). Raises FontNotFound if DejaVu Sans is nowhere to be found."""
    pdf = _Pdf(fonts or find_fonts(), f"{_title(doc.correction)} nr {doc.number}")
    # A fixed creation date (and so a fixed /ID, which fpdf2 derives from content and date).
    pdf.set_creation_date(datetime.combine(doc.issue_date, time(0), tzinfo=UTC))
    pdf.set_title(pdf.text_of(f"{_title(doc.correction)} nr {doc.number}"))
    pdf.set_author(pdf.text_of(doc.seller.name))
    pdf.set_lang("pl")
    pdf.add_page()
    _header(pdf, doc)
    lines = [_line_row(i, line) for i, line in enumerate(doc.lines, start=1)]
    _table(pdf, COLUMNS, ALIGN, [list(HEADINGS), *lines])
    _table(pdf, (20, 30, 30, 30), ("L", "R", "R", "R"), _vat_rows(doc.vat_totals, doc.gross_total))
    _payment(pdf, doc)
    return pdf.pdf_bytes()
