"""A ruled table on an fpdf2 page, drawn cell by cell.

Most cells of an invoice's tables are one short line, drawn at once (``put_line``); only the
others are wrapped. fpdf2's own ``table`` lays every cell out twice, which was a third of the
time a one-page invoice took to render.
"""

from __future__ import annotations

from collections.abc import Sequence

from fpdf import FPDF

from ebok.documents.pdf_text import put_line, width_of

__all__ = ["draw_table"]

ROW_LINE = 4.0  # mm per line of a table cell
PAD = 0.8  # mm around a cell's text
HEADING_FILL = (235, 235, 235)


def draw_table(
    pdf: FPDF, left: float, widths: Sequence[float], align: Sequence[str], rows: list[list[str]]
) -> None:
    """``rows`` (printable text) as a ruled table at ``left`` in the current font, the first
    row its bold, shaded heading, repeated at the top of every new page."""
    heading, *body = rows
    _row(pdf, left, widths, align, heading, heading=True)
    for cells in body:
        lines = _wrapped(pdf, widths, cells)
        if pdf.will_page_break(_height(lines)):
            pdf.add_page()
            _row(pdf, left, widths, align, heading, heading=True)
        _row(pdf, left, widths, align, cells, lines=lines)


def _wrapped(pdf: FPDF, widths: Sequence[float], cells: list[str]) -> list[list[str]]:
    """Each cell's text as the lines it takes in its column."""
    out = []
    for width, text in zip(widths, cells, strict=True):
        room = width - 2 * PAD
        if "\n" not in text and width_of(pdf, text) <= room:
            out.append([text])
        else:
            wrapped = pdf.multi_cell(room, ROW_LINE, text, dry_run=True, output="LINES")
            assert isinstance(wrapped, list)  # what output="LINES" gives
            out.append(wrapped)
    return out


def _height(lines: list[list[str]]) -> float:
    return max(len(cell) for cell in lines) * ROW_LINE + 2 * PAD


def _row(
    pdf: FPDF,
    left: float,
    widths: Sequence[float],
    align: Sequence[str],
    cells: list[str],
    *,
    heading: bool = False,
    lines: list[list[str]] | None = None,
) -> None:
    """One row at ``left``; each cell's lines centred in the row's height."""
    if heading:
        pdf.set_font(style="B")
        pdf.set_fill_color(*HEADING_FILL)
        align = ["C"] * len(cells)
    lines = lines if lines is not None else _wrapped(pdf, widths, cells)
    height, top, x = _height(lines), pdf.get_y(), left
    for width, side, cell in zip(widths, align, lines, strict=True):
        pdf.rect(x, top, width, height, style="DF" if heading else "D")
        y = top + (height - len(cell) * ROW_LINE) / 2
        for line in cell:
            pdf.set_xy(x + PAD, y)
            put_line(pdf, width - 2 * PAD, ROW_LINE, line, side)
            y += ROW_LINE
        x += width
    pdf.set_xy(left, top + height)
    if heading:
        pdf.set_font(style="")
