"""Regenerate the reduced DejaVu Sans faces of PDF documents from the full fonts.

    python -m tools.reduce_fonts [--source DIR] [--dest DIR]

fpdf2 reads each face for every document it writes and subsets it to the glyphs the document
draws, and the cost of both grows with the face: the full DejaVu Sans has over 6,000 glyphs,
OpenType layout tables and glyph names. The package ships instead a copy reduced to the
scripts an invoice of a Polish utility meets (COVERAGE: Latin with its extensions, Greek,
Cyrillic, punctuation, currency and a few symbol blocks, and U+FFFD, which stands in for
anything else: ``ebok.documents.fonts.printable``). What a PDF embeds is unchanged: the same
outlines, hinting and metrics; the layout tables and glyph names are dropped when a
document's fonts are subset anyway.

The source must be DejaVu Sans 2.37 (Debian's fonts-dejavu-core installs it in --source's
default), so that the same fontTools gives the same files. The glyphs, their hinting, the
font-wide bounding box and the name table (with the licence) are copied unchanged. The
faces keep their names: the Bitstream Vera and Arev licences only bar "Bitstream", "Vera",
"Arev" and "Tavmjong Bah" from the name of a modified font.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fontTools import subset  # type: ignore[import-untyped]
from fontTools.ttLib import TTFont  # type: ignore[import-untyped]

from ebok.documents.fonts import BUNDLED_FONTS, FACES, SYSTEM_FONTS

__all__ = ["COVERAGE", "SOURCE_VERSION", "coverage", "licence", "main", "reduce_face"]

SOURCE_VERSION = "Version 2.37"

# (first, last, block): every code point the full face has in these ranges is kept.
COVERAGE: tuple[tuple[int, int, str], ...] = (
    (0x0020, 0x007E, "Basic Latin"),
    (0x00A0, 0x00FF, "Latin-1 Supplement"),
    (0x0100, 0x017F, "Latin Extended-A"),
    (0x0180, 0x024F, "Latin Extended-B"),
    (0x02B0, 0x02FF, "Spacing Modifier Letters"),  # ˇ ˘ ˙ ˛ ˝ ʼ
    (0x0300, 0x036F, "Combining Diacritical Marks"),  # letters typed decomposed
    (0x0370, 0x03FF, "Greek and Coptic"),
    (0x0400, 0x04FF, "Cyrillic"),
    (0x1E00, 0x1EFF, "Latin Extended Additional"),  # Vietnamese names
    (0x2000, 0x206F, "General Punctuation"),  # – — „ ” • … ‰
    (0x2070, 0x209F, "Superscripts and Subscripts"),
    (0x20A0, 0x20CF, "Currency Symbols"),  # € ₴ ₽
    (0x2100, 0x214F, "Letterlike Symbols"),  # № ™ ℃
    (0x2150, 0x218F, "Number Forms"),  # ½ Ⅻ
    (0x2190, 0x2199, "Arrows"),  # ← → ↑ ↓
    (0x2212, 0x2212, "minus sign"),
    (0x2248, 0x2248, "almost equal to"),
    (0x2260, 0x2265, "not equal, at most, at least"),
    (0x25A0, 0x25A1, "squares"),  # ■ □
    (0x25CB, 0x25CF, "circles"),  # ○ ●
    (0x2713, 0x2718, "check and ballot marks"),  # ✓ ✔ ✗ ✘
    (0xFB00, 0xFB06, "Latin ligatures"),  # ﬁ ﬂ pasted from other documents
    (0xFFFD, 0xFFFD, "replacement character"),
)

# Used by no PDF we write (fpdf2's text shaping is off), and dropped when its fonts are subset: the
# OpenType layout (and 'kern'), device metrics, FontForge's timestamp, the math table.
DROPPED = ("FFTM", "GDEF", "GPOS", "GSUB", "MATH", "hdmx", "kern", "LTSH", "VDMX")


def coverage() -> frozenset[int]:
    """Every code point of COVERAGE."""
    return frozenset(cp for first, last, _ in COVERAGE for cp in range(first, last + 1))


def reduce_face(source: Path, target: Path) -> None:
    """Write ``source`` (full DejaVu Sans 2.37) reduced to COVERAGE as ``target``.

    Raises ValueError for another version of the font."""
    font = TTFont(source, recalcBBoxes=False, recalcTimestamp=False)
    version = font["name"].getDebugName(5) or ""
    if not version.startswith(SOURCE_VERSION):
        raise ValueError(f"{source} is DejaVu Sans {version!r}, not {SOURCE_VERSION!r}")
    options = subset.Options()
    options.layout_features = []
    options.drop_tables += list(DROPPED)
    options.hinting = True  # the outlines' instructions and the hinting tables stay
    options.notdef_outline = True
    options.recommended_glyphs = True
    options.name_IDs = ["*"]  # the copyright and licence records stay
    options.name_languages = ["*"]
    options.glyph_names = False  # post format 3: fontTools names glyphs from cmap
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(coverage()))
    subsetter.subset(font)
    # One cmap subtable, the Windows Unicode BMP one: every kept character is in the BMP, and
    # a reader looks up one table instead of two identical ones.
    cmap = font["cmap"]
    cmap.tables = [t for t in cmap.tables if (t.platformID, t.platEncID) == (3, 1)]
    font.save(target)


def licence(source: Path) -> str:
    """The LICENSE beside the reduced faces: what they are, then the licence the font carries
    in its name table (record 13: Bitstream Vera's and Arev's terms)."""
    text = TTFont(source, lazy=True)["name"].getName(13, 3, 1, 0x409).toUnicode()
    body = "\n".join(line.rstrip() for line in text.strip().splitlines())
    reduced = " and ".join(name for _, name in FACES)
    full = " and ".join(name for name, _ in FACES)
    return (
        f"{reduced}:\nDejaVu Sans {SOURCE_VERSION.split()[-1]} ({full}, "
        "https://dejavu-fonts.github.io/)\nreduced to the characters listed in "
        "tools/reduce_fonts.py, which made them;\nthe glyphs are unchanged. "
        "The licence below is the one the fonts carry.\n\n"
        f"{body}\n"
    )


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m tools.reduce_fonts", description=__doc__)
    p.add_argument("--source", type=Path, default=SYSTEM_FONTS, help="the full DejaVu fonts")
    p.add_argument("--dest", type=Path, default=BUNDLED_FONTS, help="where the reduced go")
    args = p.parse_args(argv)
    for full, reduced in FACES:
        try:
            reduce_face(args.source / full, args.dest / reduced)
        except (OSError, ValueError) as e:
            p.error(str(e))
        print(f"{args.dest / reduced}: {(args.dest / reduced).stat().st_size} bytes")
    (args.dest / "LICENSE").write_text(licence(args.source / FACES[0][0]), encoding="utf-8")


if __name__ == "__main__":
    main()
