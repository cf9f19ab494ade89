"""The fonts of PDF documents: found where they are shipped, reduced as tools.reduce_fonts
makes them, and what they cannot draw replaced before it reaches the PDF library."""

from __future__ import annotations

from pathlib import Path

import pytest
from fontTools.ttLib import TTFont  # type: ignore[import-untyped]

from ebok.documents.fonts import (
    BUNDLED_FONTS,
    FACES,
    FontFiles,
    FontNotFound,
    coverage_of,
    find_fonts,
    printable,
)
from tools.reduce_fonts import SOURCE_VERSION, coverage, reduce_face

SYSTEM_FONTS = Path("/usr/share/fonts/truetype/dejavu")


def test_printable_keeps_what_the_font_has() -> None:
    cmap = {ord(c): "g" for c in "abcą \ufffd"}
    assert printable("ab\tc\x00ą\u200bz\ue000", cmap) == "ab c ą\ufffd\ufffd"
    assert printable("a\nb", cmap, newlines=True) == "a\nb"
    assert printable("a\r\nb", cmap) == "a b"
    assert printable("z", {ord("a"): "g"}) == "?"


def test_plain_text_is_left_as_it_is() -> None:
    # Coverage.plain is what a document draws without asking printable: it must agree with it.
    shipped = coverage_of(find_fonts())
    sample = "".join(sorted(shipped.plain))
    assert printable(sample, shipped.cmap) == sample
    assert shipped.text_of(sample) == sample
    assert "\u00a0" not in shipped.plain and "\n" not in shipped.plain
    assert "\ue000" not in shipped.plain  # private use: kept free for the page-count alias
    assert shipped.text_of("Ωმ\na", newlines=True) == "Ω\ufffd\na"


def test_fonts_are_bundled_and_a_missing_font_is_named(tmp_path: Path) -> None:
    fonts = find_fonts()
    assert fonts.regular == BUNDLED_FONTS / "DejaVuSans-Reduced.ttf"
    assert fonts.bold == BUNDLED_FONTS / "DejaVuSans-Bold-Reduced.ttf"
    assert (BUNDLED_FONTS / "LICENSE").is_file()
    with pytest.raises(FontNotFound, match="DejaVuSans.ttf"):
        find_fonts([tmp_path])


def test_the_reduced_faces_come_first(tmp_path: Path) -> None:
    for full, _ in FACES:
        (tmp_path / full).touch()
    assert find_fonts([tmp_path]).regular.name == "DejaVuSans.ttf"
    (tmp_path / "DejaVuSans-Reduced.ttf").touch()  # not both reduced faces: the full pair
    assert find_fonts([tmp_path]).regular.name == "DejaVuSans.ttf"
    (tmp_path / "DejaVuSans-Bold-Reduced.ttf").touch()
    assert find_fonts([tmp_path]) == FontFiles(
        tmp_path / "DejaVuSans-Reduced.ttf", tmp_path / "DejaVuSans-Bold-Reduced.ttf"
    )


def test_the_shipped_faces_cover_an_invoice() -> None:
    wanted = "ąćęłńóśźżĄĆĘŁŃÓŚŹŻ–—„”•…·№€₴§°²³½×÷−≤≥ÀÿŒœŠžễΩωЖжЇї\u00a0\ufffd"
    for _, reduced in FACES:
        with TTFont(BUNDLED_FONTS / reduced, lazy=True) as font:
            cmap = font.getBestCmap()
        assert set(cmap) <= coverage()
        assert not [c for c in wanted if ord(c) not in cmap]


def _system_version() -> str | None:
    regular = SYSTEM_FONTS / FACES[0][0]
    if not regular.is_file():
        return None
    with TTFont(regular, lazy=True) as font:
        version: str | None = font["name"].getDebugName(5)
    return version


@pytest.mark.skipif(
    not (_system_version() or "").startswith(SOURCE_VERSION),
    reason=f"no system DejaVu Sans {SOURCE_VERSION} here",
)
def test_the_shipped_faces_are_what_reduce_fonts_makes(tmp_path: Path) -> None:
    # The same characters and the same glyphs: a changed COVERAGE needs the faces remade.
    for full, reduced in FACES:
        reduce_face(SYSTEM_FONTS / full, tmp_path / reduced)
        made, shipped = TTFont(tmp_path / reduced), TTFont(BUNDLED_FONTS / reduced)
        assert made.getBestCmap() == shipped.getBestCmap()
        assert made["hmtx"].metrics == shipped["hmtx"].metrics
        assert made["glyf"].compile(made) == shipped["glyf"].compile(shipped)
        made.close()
        shipped.close()


@pytest.mark.skipif(not SYSTEM_FONTS.is_dir(), reason="no system DejaVu fonts here")
def test_the_coverage_is_that_of_the_fonts_in_use(tmp_path: Path) -> None:
    system = coverage_of(find_fonts([tmp_path, SYSTEM_FONTS]))
    shipped = coverage_of(find_fonts())
    georgian = "ქუჩა"  # in the full DejaVu Sans, not in the shipped faces
    assert system.text_of(georgian) == georgian
    assert shipped.text_of(georgian) == "\ufffd" * 4
    assert shipped.cmap < system.cmap
