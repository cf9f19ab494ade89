"""Text flowing down A4 pages: a cursor, the current font, lines in boxes, wrapping, page breaks.

Boxes as a word processor's table cells have them: text sits 1 mm inside its box, on a
baseline 0.3 of the font size below the box's middle, and a box that would reach into the
bottom 18 mm starts a new page.
"""

from __future__ import annotations

from ebok.documents.pdf_canvas import BLACK, MM, PAGE_HEIGHT, PAGE_WIDTH, Canvas
from ebok.documents.pdf_fonts import Face

__all__ = ["CELL_MARGIN", "Flow"]

MARGIN = 15.0  # left, top and right, mm
BOTTOM = 18.0  # no box reaches into this, mm
CELL_MARGIN = 1.0  # text inside its box, mm


class Flow:
    """The cursor (``x``, ``y``: the top-left of the next box, mm) over a canvas's pages."""

    def __init__(self, regular: Face, bold: Face) -> None:
        self.canvas = Canvas((regular, bold))
        self.x, self.y = MARGIN, MARGIN
        self.bold, self.size, self.color = False, 9.0, BLACK
        self.width = PAGE_WIDTH - 2 * MARGIN  # from the left margin to the right one

    # --- state ------------------------------------------------------------------------------

    @property
    def face(self) -> Face:
        return self.canvas.faces[self.bold]

    def set_font(self, *, bold: bool | None = None, size: float | None = None) -> None:
        if bold is not None:
            self.bold = bold
        if size is not None:
            self.size = size

    def add_page(self) -> None:
        self.canvas.add_page()
        self.y = MARGIN

    def breaks_page(self, h: float) -> bool:
        """True if a box ``h`` high at the cursor would reach into the bottom margin."""
        return self.y + h > PAGE_HEIGHT - BOTTOM

    def new_line(self, h: float) -> None:
        """Down ``h`` and back to the left margin."""
        self.x, self.y = MARGIN, self.y + h

    # --- text -------------------------------------------------------------------------------

    def width_of(self, text: str) -> float:
        """``text``'s width in the current font, mm."""
        return _mm(self.face, text, self.size)

    def put_line(self, w: float, h: float, text: str, align: str = "L") -> None:
        """``text`` (one line that fits) in the box ``w`` × ``h`` at the cursor, aligned
        ``L``, ``R`` or ``C``; the cursor stays."""
        if not text:
            return
        if align == "R":
            dx = w - CELL_MARGIN - self.width_of(text)
        elif align == "C":
            dx = (w - self.width_of(text)) / 2
        else:
            dx = CELL_MARGIN
        baseline = self.y + 0.5 * h + 0.3 * self.size / MM
        self.canvas.text(self.x + dx, baseline, text, int(self.bold), self.size, self.color)

    def paragraph(self, w: float, h: float, text: str, link: str = "") -> None:
        """``text`` wrapped in boxes ``w`` wide, each line ``h`` high, at the cursor's ``x``
        on this page or the next; then the cursor is under it. ``link``: each line of the
        text opens that address."""
        x = self.x
        for line in self.wrap(text, w - 2 * CELL_MARGIN):
            if self.breaks_page(h):
                self.add_page()
                self.x = x
            self.put_line(w, h, line)
            if link and line:
                self.canvas.link(x + CELL_MARGIN, self.y, self.width_of(line), h, link)
            self.y += h

    def wrap(self, text: str, room: float) -> list[str]:
        """``text`` in lines no wider than ``room`` (mm): broken at spaces and at ``\\n``, a
        word longer than a line broken where it reaches the edge."""
        room_units = room * MM * 1000 / self.size  # in the face's 1/1000 of the size
        face = self.face
        advance, space = face.advance, face.advance[" "]
        lines: list[str] = []
        for paragraph in text.split("\n"):
            line, used = "", 0.0
            for word in paragraph.split(" "):
                width = face.width(word)
                if line and used + space + width <= room_units:
                    line, used = f"{line} {word}", used + space + width
                    continue
                if line:
                    lines.append(line)
                while width > room_units and len(word) > 1:
                    head, head_width = _longest_head(word, advance, room_units)
                    lines.append(head)
                    word, width = word[len(head) :], width - head_width
                line, used = word, width
            lines.append(line)
        return lines

    def footers(self, label: str, size: float = 7) -> None:
        """``label`` and "strona N z M" at the foot of every page, to the right margin."""
        pages, regular = len(self.canvas.pages), self.canvas.faces[0]
        baseline = PAGE_HEIGHT - 13 + 2.5 + 0.3 * size / MM  # a 5 mm box 13 mm from the foot
        for number in range(1, pages + 1):
            text = f"{label} · strona {number} z {pages}"
            x = PAGE_WIDTH - MARGIN - CELL_MARGIN - _mm(regular, text, size)
            self.canvas.text(x, baseline, text, 0, size, page=number - 1)


def _mm(face: Face, text: str, size: float) -> float:
    """``text``'s width in ``face`` at ``size`` pt, mm."""
    return face.width(text) * size / 1000 / MM


def _longest_head(word: str, advance: dict[str, float], room: float) -> tuple[str, float]:
    """The longest start of ``word`` (at least one character) no wider than ``room``."""
    used = advance[word[0]]
    end = 1
    while end < len(word) and used + advance[word[end]] <= room:
        used += advance[word[end]]
        end += 1
    return word[:end], used
