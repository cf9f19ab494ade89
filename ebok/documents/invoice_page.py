"""The pages of an invoice PDF: A4, the two DejaVu faces, margins, the footer on every page.

Drawing is fpdf2's; this module fixes what every page of every document shares, and that the
same document gives the same bytes: the creation date is given, nothing else depends on the
clock, and fpdf2 derives the file's /ID from its content.
"""

from __future__ import annotations

from datetime import datetime

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from ebok.documents.fonts import Coverage, FontFiles, coverage_of

__all__ = ["BLACK", "BOTTOM", "FAMILY", "MARGIN", "InvoicePage", "Rgb"]

Rgb = tuple[int, int, int]
BLACK: Rgb = (0, 0, 0)
FAMILY = "DejaVu"
MARGIN = 15.0  # left, top and right, mm
BOTTOM = 18.0  # no line reaches into this, mm
FOOTER_TOP = 13.0  # the footer's 5 mm line starts this far from the foot of the page, mm
FOOTER_SIZE = 7.0
# Stands for the page count until the document is closed: private-use characters, which
# ``printable`` takes out of every text the document draws, so no customer's text holds them.
# fpdf2 leaves room for a digit per character (the count is left-aligned in it).
PAGE_COUNT = "\ue000" * 3


class InvoicePage(FPDF):
    """An A4 document in DejaVu Sans; ``label`` (printable text) heads every page's footer,
    beside "strona N z M"."""

    def __init__(self, fonts: FontFiles, *, label: str, created: datetime) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.coverage: Coverage = coverage_of(fonts)
        self.label = label
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(True, margin=BOTTOM)
        self.add_font(FAMILY, "", fonts.regular)
        self.add_font(FAMILY, "B", fonts.bold)
        self.alias_nb_pages(PAGE_COUNT)
        self.set_creation_date(created)
        self.set_producer("eBOK engine")
        self.set_lang("pl")
        self.set_font(FAMILY, size=9)
        self.add_page()

    def text_of(self, text: str, *, newlines: bool = False) -> str:
        """``text`` with only what the faces can draw (see ``fonts.printable``)."""
        return self.coverage.text_of(text, newlines=newlines)

    def use(self, *, size: float = 9, bold: bool = False, color: Rgb = BLACK) -> None:
        self.set_font(FAMILY, "B" if bold else "", size)
        self.set_text_color(*color)

    def line_of(
        self,
        text: str,
        *,
        size: float = 9,
        bold: bool = False,
        h: float = 4.6,
        w: float = 0,
        link: str = "",
        color: Rgb = BLACK,
    ) -> None:
        """One paragraph wrapped at ``w`` (0: the right margin), then back to the same x on
        the next line: header blocks are two columns side by side. ``link``: each line of the
        text opens that address."""
        self.use(size=size, bold=bold, color=color)
        self.multi_cell(w, h, self.text_of(text), link=link, new_x=XPos.LEFT, new_y=YPos.NEXT)
        self.set_text_color(*BLACK)

    def footer(self) -> None:
        """Called by fpdf2 as each page is closed."""
        self.set_y(-FOOTER_TOP)
        self.use(size=FOOTER_SIZE)
        text = f"{self.label} · strona {self.page_no()} z {PAGE_COUNT}"
        self.cell(0, 5, text, align="R")
