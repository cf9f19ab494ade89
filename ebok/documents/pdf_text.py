"""One line of text in a box, where fpdf2's ``cell`` would draw it, without its layout engine.

``cell`` takes every text through fpdf2's whole text machinery (the bidirectional algorithm,
markdown, styled fragments, a copy of the graphics state) even when it is one plain run of
one font; on a one-page invoice that was most of the render. A line in COMMON characters
(all left to right, none shaped) needs only its width, for the alignment, and ``text``: the
same glyphs on the same baseline. Any other line goes to ``cell``.
"""

from __future__ import annotations

from fpdf import FPDF
from fpdf.fonts import TTFFont

from ebok.documents.pdf_faces import COMMON

__all__ = ["put_line", "width_of"]


def width_of(pdf: FPDF, text: str) -> float:
    """``pdf.get_string_width(text)`` for a line in COMMON characters, from the font's widths
    alone (no spacing or stretching is ever set on the invoice)."""
    font = pdf.current_font
    if not isinstance(font, TTFFont) or not COMMON.issuperset(text):
        return pdf.get_string_width(text)
    return font.get_text_width(text, pdf.font_size_pt, None)[1] / pdf.k


def put_line(pdf: FPDF, w: float, h: float, text: str, align: str = "L") -> None:
    """``text`` (one line that fits in ``w``) in the box ``w`` × ``h`` at the current position,
    as ``pdf.cell(w, h, text, align=align)`` draws it: inside the cell margin, on the baseline
    0.3 of the font size below the box's middle. The position stays where it is."""
    if not COMMON.issuperset(text):
        x, y = pdf.get_x(), pdf.get_y()
        pdf.cell(w, h, text, align=align)
        pdf.set_xy(x, y)
        return
    if align == "R":
        dx = w - pdf.c_margin - width_of(pdf, text)
    elif align == "C":
        dx = (w - width_of(pdf, text)) / 2
    else:
        dx = pdf.c_margin
    pdf.text(pdf.get_x() + dx, pdf.get_y() + 0.5 * h + 0.3 * pdf.font_size, text)
