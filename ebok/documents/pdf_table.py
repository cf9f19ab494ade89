"""A ruled table in the flow: a shaded bold heading, repeated at the top of every new page."""

from __future__ import annotations

from collections.abc import Sequence

from ebok.documents.pdf_layout import CELL_MARGIN, Flow

__all__ = ["draw_table"]

ROW_LINE = 4.0  # mm per line of a table cell
PAD = 0.8  # mm around a cell's text
HEADING_FILL = (235, 235, 235)


def draw_table(
    flow: Flow, left: float, widths: Sequence[float], align: Sequence[str], rows: list[list[str]]
) -> None:
    """``rows`` (printable text) as a ruled table at ``left`` in the current font size, the
    first row its heading."""
    heading, *body = rows
    heading_lines, centred = _wrapped(flow, widths, heading, True), ["C"] * len(heading)
    _row(flow, left, widths, centred, heading_lines, True)
    for cells in body:
        lines = _wrapped(flow, widths, cells, False)
        if flow.breaks_page(_height(lines)):
            flow.add_page()
            _row(flow, left, widths, centred, heading_lines, True)
        _row(flow, left, widths, align, lines, False)


def _wrapped(flow: Flow, widths: Sequence[float], cells: list[str], bold: bool) -> list[list[str]]:
    """Each cell's text as the lines it takes in its column: a line that fits inside the
    padding stays whole (its text may reach into the cell's margin); others are wrapped
    inside the margin too."""
    flow.set_font(bold=bold)
    out = []
    for width, text in zip(widths, cells, strict=True):
        room = width - 2 * PAD
        if "\n" not in text and flow.width_of(text) <= room:
            out.append([text])
        else:
            out.append(flow.wrap(text, room - 2 * CELL_MARGIN))
    return out


def _height(lines: list[list[str]]) -> float:
    return max(len(cell) for cell in lines) * ROW_LINE + 2 * PAD


def _row(
    flow: Flow,
    left: float,
    widths: Sequence[float],
    align: Sequence[str],
    lines: list[list[str]],
    heading: bool,
) -> None:
    """One row at ``left``; each cell's lines centred in the row's height."""
    flow.set_font(bold=heading)
    height, top, x = _height(lines), flow.y, left
    for width, side, cell in zip(widths, align, lines, strict=True):
        flow.canvas.rect(x, top, width, height, HEADING_FILL if heading else None)
        flow.y = top + (height - len(cell) * ROW_LINE) / 2
        flow.x = x + PAD
        for line in cell:
            flow.put_line(width - 2 * PAD, ROW_LINE, line, side)
            flow.y += ROW_LINE
        x += width
    flow.x, flow.y = left, top + height
    flow.set_font(bold=False)
