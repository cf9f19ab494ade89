"""A4 pages of text in the invoice's faces, boxes and links, written out as a PDF file.

Only what an invoice draws, written directly: a general PDF library takes every line through
its whole layout engine and subsets the fonts again for every document, and for a billed
invoice that was most of the CPU the worker spent on it. Positions are in millimetres from
the page's top-left corner, as the layout thinks; the file counts points from the bottom.
The same drawing gives the same bytes: nothing depends on the clock or on hash order.
"""

from __future__ import annotations

import functools
import hashlib
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple
from urllib.parse import quote

from ebok.documents.pdf_fonts import Cut, Face, cut_of

__all__ = ["MM", "PAGE_HEIGHT", "PAGE_WIDTH", "Canvas", "Rgb"]

MM = 72 / 25.4  # points in a millimetre
PAGE_WIDTH, PAGE_HEIGHT = 210.0, 297.0  # A4, mm
Rgb = tuple[int, int, int]
BLACK: Rgb = (0, 0, 0)
_PAGE_START = "0.57 w 0 G 0 g\n"  # rules 0.2 mm wide, black
_FIRST_FONT = 5  # object number of the first font object; 1-4 are fixed (see output)
_OBJECTS_PER_FONT = 5


class _Text(NamedTuple):
    """A run of text whose glyph ids are known only when the document's fonts are cut."""

    before: str
    face: int
    text: str
    after: str


@dataclass
class _Page:
    ops: list[str | _Text] = field(default_factory=lambda: [_PAGE_START])
    links: list[str] = field(default_factory=list)


class Canvas:
    """The pages of one document; ``faces`` are its fonts, by index (F1, F2, …)."""

    def __init__(self, faces: tuple[Face, ...]) -> None:
        self.faces = faces
        self.pages: list[_Page] = []
        self._drawn: list[set[str]] = [set() for _ in faces]

    def add_page(self) -> None:
        self.pages.append(_Page())

    def text(
        self, x: float, baseline: float, text: str, face: int, size: float,
        color: Rgb = BLACK, *, page: int = -1,
    ) -> None:  # fmt: skip
        """``text`` (characters of the face) from ``x`` on the ``baseline``, ``size`` in pt."""
        self._drawn[face].update(text)
        y = (PAGE_HEIGHT - baseline) * MM
        start, end = f"BT /F{face + 1} {size:.2f} Tf {x * MM:.2f} {y:.2f} Td ", " Tj ET\n"
        if color != BLACK:
            start, end = f"q {_rgb(color)} rg {start}", " Tj ET Q\n"
        self.pages[page].ops.append(_Text(start, face, text, end))

    def rect(self, x: float, y: float, w: float, h: float, fill: Rgb | None = None) -> None:
        """A ruled box (top-left corner ``x``, ``y``), filled with ``fill`` if given."""
        box = f"{x * MM:.2f} {(PAGE_HEIGHT - y) * MM:.2f} {w * MM:.2f} {-h * MM:.2f} re"
        self.pages[-1].ops.append(f"q {_rgb(fill)} rg {box} B Q\n" if fill else f"{box} S\n")

    def link(self, x: float, y: float, w: float, h: float, url: str) -> None:
        """A box (top-left corner ``x``, ``y``) that opens ``url``."""
        left, top = x * MM, (PAGE_HEIGHT - y) * MM
        self.pages[-1].links.append(
            f"<</Type /Annot /Subtype /Link /A <</S /URI /URI {_literal(_ascii_url(url))}>> "
            f"/Rect [{left:.2f} {top - h * MM:.2f} {left + w * MM:.2f} {top:.2f}] "
            "/Border [0 0 0] /F 4>>"
        )

    def output(self, *, title: str, author: str, lang: str, created: datetime) -> bytes:
        """The PDF file."""
        cuts = [cut_of(face, drawn) for face, drawn in zip(self.faces, self._drawn, strict=True)]
        first_page = _FIRST_FONT + _OBJECTS_PER_FONT * len(cuts)
        kids = " ".join(f"{first_page + 2 * i} 0 R" for i in range(len(self.pages)))
        fonts = " ".join(
            f"/F{i + 1} {_FIRST_FONT + _OBJECTS_PER_FONT * i} 0 R" for i in range(len(cuts))
        )
        objects: list[bytes] = [
            f"<</Type /Catalog /Pages 2 0 R /Lang {_literal(lang)}>>".encode(),
            f"<</Type /Pages /Kids [{kids}] /Count {len(self.pages)} "
            f"/MediaBox [0 0 {PAGE_WIDTH * MM:.2f} {PAGE_HEIGHT * MM:.2f}]>>".encode(),
            f"<</Title {_text_string(title)} /Author {_text_string(author)} "
            f"/Producer (eBOK engine) /CreationDate (D:{created:%Y%m%d%H%M%S}Z)>>".encode(),
            f"<</Font <<{fonts}>> /ProcSet [/PDF /Text]>>".encode(),
        ]
        for i, cut in enumerate(cuts):
            objects.extend(_font_objects(cut, _FIRST_FONT + _OBJECTS_PER_FONT * i))
        for i, page in enumerate(self.pages):
            annots = f" /Annots [{' '.join(page.links)}]" if page.links else ""
            objects.append(
                f"<</Type /Page /Parent 2 0 R /Resources 4 0 R "
                f"/Contents {first_page + 2 * i + 1} 0 R{annots}>>".encode()
            )
            objects.append(_stream(zlib.compress(_content(page, cuts).encode("ascii"))))
        return _file(objects)


def _content(page: _Page, cuts: list[Cut]) -> str:
    return "".join(
        op if isinstance(op, str) else op.before + cuts[op.face].show(op.text) + op.after
        for op in page.ops
    )


@functools.lru_cache(maxsize=32)
def _font_objects(cut: Cut, first: int) -> tuple[bytes, ...]:
    """The five objects of one font from object number ``first`` on: the same for every
    document with this cut, so made once."""
    face, name = cut.face, cut.base_font
    flags = 4 | (1 << 18 if face.bold else 0)  # symbolic; force bold
    stem_v = 165 if face.bold else 87
    return (
        f"<</Type /Font /Subtype /Type0 /BaseFont /{name} /Encoding /Identity-H "
        f"/DescendantFonts [{first + 1} 0 R] /ToUnicode {first + 4} 0 R>>".encode(),
        f"<</Type /Font /Subtype /CIDFontType2 /BaseFont /{name} "
        "/CIDSystemInfo <</Registry (Adobe) /Ordering (Identity) /Supplement 0>> "
        f"/FontDescriptor {first + 2} 0 R /CIDToGIDMap /Identity "
        f"/DW {round(face.missing_width)} /W {cut.widths}>>".encode(),
        f"<</Type /FontDescriptor /FontName /{name} /Flags {flags} "
        f"/FontBBox [{' '.join(str(v) for v in face.bbox)}] /ItalicAngle 0 "
        f"/Ascent {face.ascent} /Descent {face.descent} /CapHeight {face.cap_height} "
        f"/StemV {stem_v} /MissingWidth {round(face.missing_width)} "
        f"/FontFile2 {first + 3} 0 R>>".encode(),
        _stream(cut.font_file, f"/Length1 {cut.font_file_length}"),
        _stream(cut.to_unicode),
    )


def _stream(deflated: bytes, extra: str = "") -> bytes:
    head = f"<</Filter /FlateDecode /Length {len(deflated)}{' ' + extra if extra else ''}>>"
    return head.encode() + b"\nstream\n" + deflated + b"\nendstream"


def _file(objects: list[bytes]) -> bytes:
    """Header, numbered objects, cross-reference table and trailer."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    digest = hashlib.md5(out, usedforsecurity=False).hexdigest().upper()  # the file's /ID
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += (
        f"trailer\n<</Size {len(objects) + 1} /Root 1 0 R /Info 3 0 R "
        f"/ID [<{digest}> <{digest}>]>>\nstartxref\n{xref}\n%%EOF\n"
    ).encode()
    return bytes(out)


def _rgb(color: Rgb) -> str:
    return " ".join(f"{c / 255:.4f}" for c in color)


def _literal(text: str) -> str:
    """An ASCII PDF literal string."""
    return "(" + text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"


def _text_string(text: str) -> str:
    """Any text as a PDF text string: UTF-16BE with its byte order mark, in hex."""
    return "<FEFF" + text.encode("utf-16-be").hex().upper() + ">"


def _ascii_url(url: str) -> str:
    """A link target in the ASCII a URI action holds: anything else percent-encoded."""
    return quote(url, safe=_PRINTABLE_ASCII)


_PRINTABLE_ASCII = "".join(chr(c) for c in range(0x21, 0x7F))
