"""``put_line`` puts a line where fpdf2's ``cell`` does: same words, same boxes."""

from __future__ import annotations

import subprocess
from pathlib import Path

from fpdf import FPDF

from ebok.documents.fonts import find_fonts
from ebok.documents.invoice_pdf import _Pdf
from ebok.documents.pdf_faces import FAMILY
from ebok.documents.pdf_text import put_line

PDFTOTEXT = "/usr/bin/pdftotext"
LINES = [
    ("L", "", 9, "Należność do zapłaty: 1 245,67 zł"),
    ("R", "B", 7.5, "1 612,903"),
    ("C", "B", 7.5, "Kwota VAT"),
    ("R", "", 14, "Zażółć gęślą jaźń – „nr” 12.5%"),
    ("L", "", 9, "Адрес: Київ"),  # outside COMMON: drawn by cell itself
    ("R", "B", 9, "שלום 12"),  # right to left: cell's bidirectional layout
]


def _page(draw: str) -> FPDF:
    pdf = _Pdf(find_fonts(), "t")
    pdf.add_page()
    for i, (align, style, size, text) in enumerate(LINES):
        pdf.set_font(FAMILY, style, size)
        pdf.set_xy(20 + i, 30 + 12 * i)
        if draw == "cell":
            pdf.cell(70, 6, text, align=align)
        else:
            put_line(pdf, 70, 6, text, align)
            assert (pdf.get_x(), pdf.get_y()) == (20 + i, 30 + 12 * i)  # does not move
    return pdf


def _words(pdf: FPDF, path: Path) -> list[tuple[str, float, float, float, float]]:
    path.write_bytes(bytes(pdf.output()))
    html = subprocess.run(
        [PDFTOTEXT, "-bbox", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    words = []
    for line in html.splitlines():
        if "<word " not in line:
            continue
        attrs = dict(
            part.split('="') for part in line.split("<word ")[1].split('">')[0].split('" ')
        )
        text = line.split('">')[1].split("</word>")[0]
        box = tuple(float(attrs[k]) for k in ("xMin", "yMin", "xMax", "yMax"))
        words.append((text, *box))
    return words  # type: ignore[return-value]


def test_put_line_draws_what_cell_draws(tmp_path: Path) -> None:
    by_cell, by_put = (
        _words(_page("cell"), tmp_path / "a.pdf"),
        _words(_page("put"), tmp_path / "b.pdf"),
    )
    assert len(by_cell) >= 20 and [w[0] for w in by_put] == [w[0] for w in by_cell]
    for a, b in zip(by_cell, by_put, strict=True):
        assert all(abs(x - y) < 0.02 for x, y in zip(a[1:], b[1:], strict=True)), (a, b)
