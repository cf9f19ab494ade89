"""The font of PDF documents: DejaVu Sans, which covers Polish (and most European) letters.

The package ships its own copy (ebok/templates/documents/fonts, with the font's LICENSE), so a
document is the same on every machine. That copy is reduced to the scripts an invoice meets
(``python -m tools.reduce_fonts`` makes it from the full fonts and says which), because
reading and subsetting the face is much of what rendering a PDF costs; anything else prints
as U+FFFD (``printable``).
A full system or matplotlib copy is only a fallback for a trimmed install. There is no setting
for it: a document's look is not a deployment choice.
"""

from __future__ import annotations

import functools
import importlib.util
import unicodedata
from collections.abc import Container, Iterable
from dataclasses import dataclass
from pathlib import Path

from fontTools.ttLib import TTFont  # type: ignore[import-untyped]

__all__ = [
    "BUNDLED_FONTS",
    "FACES",
    "SYSTEM_FONTS",
    "Coverage",
    "FontFiles",
    "FontNotFound",
    "coverage_of",
    "find_fonts",
    "printable",
]

BUNDLED_FONTS = Path(__file__).resolve().parent.parent / "templates" / "documents" / "fonts"
SYSTEM_FONTS = Path("/usr/share/fonts/truetype/dejavu")  # Debian/Ubuntu fonts-dejavu-core
REGULAR, BOLD = "DejaVuSans.ttf", "DejaVuSans-Bold.ttf"
REDUCED_REGULAR, REDUCED_BOLD = "DejaVuSans-Reduced.ttf", "DejaVuSans-Bold-Reduced.ttf"
# (full, reduced) file name of each face.
FACES = ((REGULAR, REDUCED_REGULAR), (BOLD, REDUCED_BOLD))
REPLACEMENT = "\ufffd"


class FontNotFound(RuntimeError):
    """No directory holds both DejaVu Sans faces, reduced or full."""


@dataclass(frozen=True, slots=True)
class FontFiles:
    regular: Path
    bold: Path


def _matplotlib_fonts() -> list[Path]:
    # find_spec, not import: matplotlib takes a second to import and is optional.
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return []
    return [Path(p) / "mpl-data" / "fonts" / "ttf" for p in spec.submodule_search_locations]


def find_fonts(directories: Iterable[Path] | None = None) -> FontFiles:
    """The first directory with both faces: their reduced copies, else the full fonts
    (DejaVuSans.ttf and DejaVuSans-Bold.ttf)."""
    if directories is None:
        directories = [BUNDLED_FONTS, SYSTEM_FONTS, *_matplotlib_fonts()]
    looked = list(directories)
    for folder in looked:
        for regular, bold in ((REDUCED_REGULAR, REDUCED_BOLD), (REGULAR, BOLD)):
            if (folder / regular).is_file() and (folder / bold).is_file():
                return FontFiles(folder / regular, folder / bold)
    where = ", ".join(str(p) for p in looked) or "nowhere"
    raise FontNotFound(
        f"DejaVu Sans ({REDUCED_REGULAR}, {REDUCED_BOLD} or {REGULAR}, {BOLD}) not found in "
        f"{where}; reinstall the package or install the fonts-dejavu-core system package"
    )


def printable(text: str, cmap: Container[int], *, newlines: bool = False) -> str:
    """``text`` with only what the font can draw (``cmap``: its code points, or a mapping
    from them): a PDF must never fail on a name or line.

    Line and paragraph breaks become spaces (or stay, with ``newlines``), other controls too;
    invisible format characters (bidi overrides, zero-width) are dropped so they cannot
    reorder the printed text; anything the font lacks becomes U+FFFD (or "?"). Private-use
    characters are always replaced, which keeps them free for layout placeholders.
    """
    replacement = REPLACEMENT if ord(REPLACEMENT) in cmap else "?"
    out = []
    for char in text.replace("\r\n", "\n"):
        category = unicodedata.category(char)
        if char == "\n" and newlines:
            out.append(char)
        elif category in ("Cc", "Zl", "Zp") or char.isspace():
            out.append(" ")
        elif category == "Cf":
            continue
        elif category == "Co" or ord(char) not in cmap:
            out.append(replacement)
        else:
            out.append(char)
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Coverage:
    """What both faces of a pair can draw: ``cmap`` (code points) for ``printable``, and
    ``plain``, the characters ``printable`` leaves as they are, to skip it for most text."""

    cmap: frozenset[int]
    plain: frozenset[str]

    def text_of(self, text: str, *, newlines: bool = False) -> str:
        """``text`` with only what both faces can draw (see ``printable``)."""
        if self.plain.issuperset(text):  # nearly every text: nothing to replace
            return text
        return printable(text, self.cmap, newlines=newlines)


@functools.cache
def coverage_of(fonts: FontFiles) -> Coverage:
    """The characters of both faces, read once per process. fpdf2 would draw a character a
    face lacks as the face's .notdef box and log a warning; ``printable`` makes it U+FFFD,
    which the faces have, first."""
    codes = frozenset.intersection(*(_codes(path) for path in (fonts.regular, fonts.bold)))
    plain = frozenset(c for c in map(chr, codes) if printable(c, codes) == c)
    return Coverage(codes, plain)


def _codes(path: Path) -> frozenset[int]:
    with TTFont(path, lazy=True) as font:
        return frozenset(font.getBestCmap())
