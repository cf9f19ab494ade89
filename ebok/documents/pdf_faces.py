"""The invoice's two DejaVu faces, made ready once per process, and the font objects of its PDFs.

fpdf2 writes the fonts into every PDF it makes: it subsets each face to the glyphs the document
drew (fontTools), compresses the result and builds the width table, the map back to Unicode
and the CID-to-glyph map. For a one-page invoice that was two thirds of the render. Nearly
every invoice is written in COMMON characters, so every document starts with each COMMON
character given its code in one fixed order: a document that draws nothing else then has the
same font objects as every other such document, and those are built once per process (per
object number they start at) and written again as they are. A document with any other
character (a name in Cyrillic, say) has its fonts built by fpdf2 for it alone.
"""

from __future__ import annotations

import copy
import functools
import io
import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fontTools import subset  # type: ignore[import-untyped]  # fpdf2 depends on fontTools
from fontTools.ttLib import TTFont  # type: ignore[import-untyped]
from fpdf import FPDF
from fpdf.fonts import SubsetMap, TTFFont
from fpdf.output import OutputProducer
from fpdf.syntax import PDFObject

from ebok.documents.fonts import FontFiles

__all__ = [
    "COMMON",
    "FAMILY",
    "Cut",
    "Face",
    "ReusedFonts",
    "faces",
    "fresh",
    "kept_font_objects",
    "only_common",
]

FAMILY = "DejaVu"
# What nearly every invoice is written in: ASCII and Polish letters, digits, the signs of
# amounts, dates and addresses, and our own layout's dash and dot.
COMMON = frozenset(
    string.ascii_letters + string.digits + string.punctuation
    + " ąćęłńóśźżĄĆĘŁŃÓŚŹŻ–—„”’·×§°€\u00a0\ufffd"
)  # fmt: skip
_COMMON_CODES = tuple(sorted(ord(c) for c in COMMON))
# Font objects kept per starting object number (a number per page count and links, so few).
_KEPT_AT_MOST = 16


@dataclass(frozen=True, slots=True)
class Cut:
    """A face subset once per process (fpdf2 subsets the font of every document it writes,
    at a cost that grows with the font it is given): its bytes, glyph order and glyphs."""

    data: bytes
    glyph_order: tuple[str, ...]
    glyphs: frozenset[str]

    @classmethod
    def of(cls, data: bytes, chars: frozenset[str]) -> Cut:
        font = TTFont(io.BytesIO(data), recalcBBoxes=False, recalcTimestamp=False)
        # As fpdf2 subsets (the outlines and their hinting, .notdef drawn), names from cmap.
        options = subset.Options(notdef_outline=True, recommended_glyphs=True)
        options.glyph_names = False
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=sorted(ord(c) for c in chars))
        subsetter.subset(font)
        out = io.BytesIO()
        font.save(out)
        order = tuple(TTFont(io.BytesIO(out.getvalue()), lazy=True).getGlyphOrder())
        return cls(out.getvalue(), order, frozenset(order))

    def open(self) -> TTFont:
        font = TTFont(io.BytesIO(self.data), recalcBBoxes=False, recalcTimestamp=False, lazy=True)
        font.setGlyphOrder(list(self.glyph_order))
        return font


@dataclass(frozen=True, slots=True)
class Face:
    """One face as ``add_font`` parses it, kept for the process: fpdf2's font object, the
    file's bytes and the fontTools glyph order."""

    key: str
    font: TTFFont
    data: bytes
    glyph_order: tuple[str, ...]
    common: Cut  # the face cut down to COMMON
    common_size: int  # glyphs in a fresh copy's subset map: COMMON's and the reserved


@functools.cache
def faces(fonts: FontFiles) -> tuple[Face, ...]:
    """Both faces, parsed once per process.

    Parsing DejaVu (its widths and glyph ids for every character) is over half the time of a
    one-page invoice; the result depends on the file only."""
    pdf = FPDF()
    pdf.add_font(FAMILY, "", str(fonts.regular))
    pdf.add_font(FAMILY, "B", str(fonts.bold))
    parsed = []
    for key, font in pdf.fonts.items():
        if not isinstance(font, TTFFont):  # add_font of a .ttf file always makes one
            raise TypeError(f"{fonts.regular} is not a TrueType font")
        order = tuple(font.ttfont.getGlyphOrder())
        data = Path(font.ttffile).read_bytes()
        common_size = len(_common_codes(font))
        parsed.append(Face(key, font, data, order, Cut.of(data, COMMON), common_size))
    return tuple(parsed)


def fresh(face: Face) -> TTFFont:
    """A copy of a parsed face for one document, as ``add_font`` would make it: the metrics
    shared (read only), its own widths, glyph ids, missing glyphs, descriptor and subset map,
    the map holding the COMMON characters' codes already.

    The fontTools font is subset in place when the PDF is written, so each document opens its
    own from the file's bytes (lazily: only the tables the subset needs are read), with the
    glyph order already known: the reduced faces name their glyphs from cmap, which would
    otherwise be worked out again. Bounding boxes are kept as the face has them (fontTools'
    own subsetter does the same): the glyphs are copied, not changed, so theirs stay right, and
    the font-wide box stays the face's, which encloses any subset of it."""
    font = copy.copy(face.font)
    font.cw = copy.copy(face.font.cw)
    font.glyph_ids = dict(face.font.glyph_ids)
    font.missing_glyphs = []
    font.biggest_size_pt = 0
    # fpdf2 numbers the descriptor and links the font file to it when it writes a PDF.
    font.desc = copy.copy(face.font.desc)
    font.ttfont = TTFont(
        io.BytesIO(face.data), recalcBBoxes=False, recalcTimestamp=False, lazy=True
    )
    font.ttfont.setGlyphOrder(list(face.glyph_order))
    font.subset = _common_codes(font)
    return font


def _common_codes(font: TTFFont) -> SubsetMap:
    """A subset map of ``font`` holding every COMMON character's code, in their fixed order."""
    codes = SubsetMap(font)
    for code in _COMMON_CODES:
        codes.pick(code)
    return codes


def only_common(face: Face, font: TTFFont) -> bool:
    """True while a document's copy of ``face`` has drawn COMMON characters only."""
    return len(font.subset) == face.common_size


class ReusedFonts(OutputProducer):
    """fpdf2's PDF writer, the font objects of documents in COMMON characters built once.

    For use when every face of the document is ``only_common``: then the objects depend on
    nothing but the object number they start at and the font files (the codes and the cut
    of a file are always the same), and those objects are not changed once written."""

    def _add_fonts(self, *args: Any, **kwargs: Any) -> dict[int, Any]:
        fonts = tuple(
            sorted(
                (k, str(f.ttffile) if isinstance(f, TTFFont) else "")
                for k, f in self.fpdf.fonts.items()
            )
        )
        key = (self.obj_id, self.fpdf.compress, fonts)
        kept = _kept.get(key)
        if kept is None:
            first = len(self.pdf_objs)
            by_index = super()._add_fonts(*args, **kwargs)
            objects = tuple(o for o in self.pdf_objs[first:] if isinstance(o, PDFObject))
            if len(objects) == len(self.pdf_objs) - first and len(_kept) < _KEPT_AT_MOST:
                _kept[key] = _Kept(objects, dict(by_index))
            return by_index
        for obj in kept.objects:
            self._add_pdf_obj(obj, "fonts")
        for font in self.fpdf.fonts.values():
            if isinstance(font, TTFFont):  # as fpdf2 leaves them: its caches emptied
                font.subset.pick.cache_clear()
                font.subset.get_glyph.cache_clear()
                font.close()
        return dict(kept.by_index)


@dataclass(frozen=True, slots=True)
class _Kept:
    objects: tuple[PDFObject, ...]
    by_index: Mapping[int, Any]


_kept: dict[tuple[int, bool, tuple[tuple[str, str], ...]], _Kept] = {}


def kept_font_objects() -> dict[tuple[int, bool, tuple[tuple[str, str], ...]], _Kept]:
    """The font objects kept so far, by starting object number (for tests to look at)."""
    return _kept
