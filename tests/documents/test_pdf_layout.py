"""The PDF writer and its flow: lines wrap inside their box, nothing is lost, the file's
cross-reference table points at its objects, text sits where its box says."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from ebok.documents.fonts import find_fonts, printable
from ebok.documents.pdf_fonts import load_face
from ebok.documents.pdf_layout import CELL_MARGIN, Flow
from ebok.documents.pdf_table import PAD, draw_table

PDFTOTEXT = "/usr/bin/pdftotext"
FONTS = find_fonts()
REGULAR = load_face(FONTS.regular)
# Words of the face's characters (no line breaks; spaces separate words).
WORDS = st.lists(
    st.text(st.sampled_from(sorted(REGULAR.plain - {" "})), min_size=1, max_size=40),
    min_size=1,
    max_size=30,
)


def a_flow() -> Flow:
    flow = Flow(REGULAR, load_face(FONTS.bold))
    flow.add_page()
    return flow


def written(flow: Flow) -> bytes:
    return flow.canvas.output(
        title="Próba", author="eBOK", lang="pl", created=datetime(2026, 1, 1, tzinfo=UTC)
    )


@settings(max_examples=200, deadline=None)
@given(WORDS, st.floats(min_value=5, max_value=180), st.sampled_from([7.0, 9.0, 14.0]))
def test_wrapped_lines_fit_and_keep_every_word(words: list[str], room: float, size: float) -> None:
    flow = a_flow()
    flow.set_font(size=size)
    lines = flow.wrap(" ".join(words), room)
    for line in lines:
        # Only a single character wider than the room may stand out of it.
        assert flow.width_of(line) <= room + 1e-9 or len(line) == 1
    assert "".join(lines).replace(" ", "") == "".join(words)
    # Broken only between words, unless a word is wider than a line.
    if all(flow.width_of(w) <= room for w in words):
        assert " ".join(lines).split(" ") == words


def test_a_line_break_in_the_text_is_kept() -> None:
    assert a_flow().wrap("Pierwsza\nDruga", 100) == ["Pierwsza", "Druga"]


def test_the_cross_reference_table_points_at_every_object() -> None:
    flow = a_flow()
    flow.paragraph(100, 5, "Zażółć gęślą jaźń " * 40, link="https://ebok.example.pl/a")
    flow.footers("Próba")
    pdf = written(flow)
    start = int(re.search(rb"startxref\n(\d+)\n%%EOF\n$", pdf).group(1))  # type: ignore[union-attr]
    table = re.match(rb"xref\n0 (\d+)\n((?:\d{10} \d{5} [fn] \n)+)", pdf[start:])
    assert table is not None
    entries = table.group(2).splitlines()[1:]
    assert len(entries) == int(table.group(1)) - 1
    for number, entry in enumerate(entries, start=1):
        offset = int(entry[:10])
        assert pdf[offset:].startswith(b"%d 0 obj\n" % number)


def test_right_aligned_text_ends_inside_its_cell(tmp_path: Path) -> None:
    flow = a_flow()
    flow.set_font(size=7.5)
    widths, amount = (30.0, 40.0), "1\u00a0230,00 zł"
    draw_table(flow, 15, widths, ("L", "R"), [["Pozycja", "Brutto"], ["Prąd", amount]])
    path = tmp_path / "table.pdf"
    path.write_bytes(written(flow))
    boxes = subprocess.run(
        [PDFTOTEXT, "-bbox", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
    last_word = re.findall(r'xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" [^>]*>zł<', boxes)
    assert len(last_word) == 1
    right_edge_pt = (15 + sum(widths) - PAD - CELL_MARGIN) * 72 / 25.4
    assert abs(float(last_word[0][1]) - right_edge_pt) < 0.5
    first_word = re.search(r'xMin="([\d.]+)" [^>]*>Prąd<', boxes)
    assert first_word is not None
    assert abs(float(first_word.group(1)) - (15 + PAD + CELL_MARGIN) * 72 / 25.4) < 0.5


def test_printable_text_is_left_as_it_is() -> None:
    # Face.plain is what the flow draws without asking printable: it must agree with it.
    sample = "".join(sorted(REGULAR.plain))
    assert printable(sample, REGULAR.cmap) == sample
    assert "\u00a0" not in REGULAR.plain and "\n" not in REGULAR.plain
