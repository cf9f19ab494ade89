"""The invoice's two DejaVu faces: their metrics for layout, and their cuts for embedding.

A PDF carries the glyphs it draws as an embedded TrueType font (a CIDFontType2 under a Type0
font, Identity-H: each glyph shown by its glyph id in the embedded cut). Nearly every invoice
is written in COMMON characters, so the face cut down to COMMON, with its width table and its
map back to Unicode, is made once per process and written into every such document as it is.
A document that draws anything else gets a cut of COMMON and what it drew, made for it.
"""

from __future__ import annotations

import functools
import hashlib
import io
import string
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from fontTools import subset  # type: ignore[import-untyped]
from fontTools.ttLib import TTFont  # type: ignore[import-untyped]

from ebok.documents.fonts import printable

__all__ = ["COMMON", "Cut", "Face", "cut_of", "load_face"]

# What nearly every invoice is written in: ASCII and Polish letters, digits, the signs of
# amounts, dates and addresses, and our own layout's dash and dot.
COMMON = frozenset(
    string.ascii_letters + string.digits + string.punctuation
    + " ąćęłńóśźżĄĆĘŁŃÓŚŹŻ–—„”’·×§°€\u00a0\ufffd"
)  # fmt: skip
_COMMON_CODES = frozenset(ord(c) for c in COMMON)


@dataclass(frozen=True, slots=True, eq=False)
class Face:
    """One face as layout needs it: what it can draw, and how wide (in 1/1000 of the size)."""

    path: Path
    data: bytes
    postscript_name: str
    cmap: dict[int, str]  # code point → glyph name: what the face can draw
    plain: frozenset[str]  # characters that ``printable`` leaves as they are
    advance: dict[str, float]  # character → advance width, for every character of the face
    missing_width: float  # advance of .notdef
    ascent: int  # these four in 1/1000 of the size, as a font descriptor wants them
    descent: int
    cap_height: int
    bbox: tuple[int, int, int, int]
    bold: bool

    def width(self, text: str) -> float:
        """``text``'s advance in 1/1000 of the font size (no kerning, as the layout draws)."""
        advance = self.advance
        return sum(advance[c] for c in text)


@functools.cache
def load_face(path: Path) -> Face:
    """The face of a TrueType file, read once per process."""
    data = path.read_bytes()
    font = TTFont(io.BytesIO(data), lazy=True)
    scale = 1000 / font["head"].unitsPerEm
    hmtx = font["hmtx"]
    cmap = font.getBestCmap()
    advance = {chr(code): hmtx[name][0] * scale for code, name in cmap.items()}
    head, hhea, os2 = font["head"], font["hhea"], font["OS/2"]
    return Face(
        path=path,
        data=data,
        postscript_name=font["name"].getDebugName(6) or path.stem,
        cmap=cmap,
        plain=frozenset(c for c in map(chr, cmap) if printable(c, cmap) == c),
        advance=advance,
        missing_width=hmtx[".notdef"][0] * scale,
        ascent=round(hhea.ascent * scale),
        descent=round(hhea.descent * scale),
        cap_height=round(getattr(os2, "sCapHeight", 0) * scale) or round(hhea.ascent * scale),
        bbox=(
            round(head.xMin * scale),
            round(head.yMin * scale),
            round(head.xMax * scale),
            round(head.yMax * scale),
        ),
        bold=os2.usWeightClass >= 600,
    )


@dataclass(frozen=True, slots=True, eq=False)
class Cut:
    """A face cut down to some characters, ready to be written into a PDF: each character's
    glyph id (as the four hex digits a content stream shows it by) and the font's objects."""

    face: Face
    glyph: dict[str, str]  # character → glyph id in the cut, as 4 hex digits
    base_font: str  # the subset's name: a tag made of its characters, "+", the face's name
    font_file: bytes  # the cut TrueType file, deflated
    font_file_length: int  # its length before deflating
    widths: str  # the W array of the CIDFont
    to_unicode: bytes  # the ToUnicode CMap, deflated

    def show(self, text: str) -> str:
        """``text`` as a hex string of glyph ids: what ``Tj`` draws."""
        glyph = self.glyph
        return "<" + "".join([glyph[c] for c in text]) + ">"


def cut_of(face: Face, chars: Iterable[str]) -> Cut:
    """The cut of ``face`` for a document that drew ``chars``: the one made for COMMON when
    they are all in it, else one made for COMMON and them."""
    codes = frozenset(ord(c) for c in chars)
    if codes <= _COMMON_CODES:
        return _cut(face, _COMMON_CODES)
    return _cut_uncached(face, _COMMON_CODES | codes)


@functools.lru_cache(maxsize=16)
def _cut(face: Face, codes: frozenset[int]) -> Cut:
    return _cut_uncached(face, codes)


def _cut_uncached(face: Face, codes: frozenset[int]) -> Cut:
    font = TTFont(io.BytesIO(face.data), recalcBBoxes=False, recalcTimestamp=False)
    options = subset.Options(notdef_outline=True, recommended_glyphs=True)
    options.glyph_names = False
    options.layout_features = []
    options.name_IDs = []  # the name table goes: the descriptor names the font
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(codes))
    subsetter.subset(font)
    out = io.BytesIO()
    font.save(out)
    data = out.getvalue()
    cut = TTFont(io.BytesIO(data), lazy=True)
    order = {name: gid for gid, name in enumerate(cut.getGlyphOrder())}
    scale = 1000 / cut["head"].unitsPerEm
    hmtx = cut["hmtx"]
    cmap = cut.getBestCmap()
    by_gid: dict[int, str] = {}  # a glyph drawn for two characters reads as the first
    for code, name in sorted(cmap.items()):
        by_gid.setdefault(order[name], chr(code))
    widths = " ".join(
        f"{gid} [{round(hmtx[name][0] * scale)}]" for name, gid in sorted(order.items(), key=_gid)
    )
    named = f"{face.postscript_name}:{sorted(codes)}".encode()
    tag = "".join(chr(ord("A") + b % 26) for b in hashlib.sha256(named).digest()[:6])
    return Cut(
        face=face,
        glyph={chr(code): f"{order[name]:04X}" for code, name in cmap.items()},
        base_font=f"{tag}+{face.postscript_name}",
        font_file=zlib.compress(data, 9),
        font_file_length=len(data),
        widths=f"[{widths}]",
        to_unicode=zlib.compress(_to_unicode(by_gid), 9),
    )


def _gid(item: tuple[str, int]) -> int:
    return item[1]


def _to_unicode(by_gid: dict[int, str]) -> bytes:
    """The CMap that maps glyph ids back to text: what a reader copies and searches."""
    pairs = sorted(by_gid.items())
    blocks = []
    for start in range(0, len(pairs), 100):  # at most 100 entries per bfchar block
        chunk = pairs[start : start + 100]
        lines = "\n".join(f"<{gid:04X}> <{_utf16(char)}>" for gid, char in chunk)
        blocks.append(f"{len(chunk)} beginbfchar\n{lines}\nendbfchar")
    body = "\n".join(blocks)
    return (
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
        "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
        f"{body}\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
    ).encode("ascii")


def _utf16(char: str) -> str:
    return char.encode("utf-16-be").hex().upper()
