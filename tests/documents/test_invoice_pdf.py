"""Invoice PDF: a sound file, what pdftotext reads back, the pay link, pagination, any text,
every script the shipped font covers, the same bytes twice."""

from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
import sys
import unicodedata
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ebok.documents.fonts import coverage_of, find_fonts
from ebok.documents.invoice_page import PAGE_COUNT
from ebok.documents.invoice_pdf import (
    COLUMNS,
    LEFT,
    PAD,
    Correction,
    InvoiceLine,
    Party,
    VatTotal,
    render_invoice_pdf,
)
from ebok.errors import InvalidInput
from ebok.money import Money
from tests.documents.sample import (
    PPE,
    a_line,
    an_invoice,
    flat,
    rendered,
    structure_problems,
    text_of,
)

SYSTEM_FONTS = Path("/usr/share/fonts/truetype/dejavu")
PT_PER_MM = 72 / 25.4
POLISH = "ąćęłńóśźż ĄĆĘŁŃÓŚŹŻ"


def test_pdftotext_reads_the_invoice(tmp_path: Path) -> None:
    doc = an_invoice()
    text = flat(text_of(rendered(doc), tmp_path))
    assert "Faktura VAT" in text
    assert "FV/2026/11/000101" in text
    assert "Należność do zapłaty: 1 272,50 zł" in text
    assert "1 230,00 zł" in text  # the first line's gross
    assert "61 1090 1014 0000 0712 1981 2874" in text
    assert "Termin płatności: 19.11.2026" in text
    assert "Okres rozliczeniowy: 01.10.2026 – 31.10.2026" in text
    assert "Data wystawienia: 05.11.2026" in text
    assert "Zapłać online" in text and "https://ebok.example.pl/pay/abc123" in text
    for words in ("Sprzedawca Energii Sp. z o.o.", "NIP: 5260250995", "00-950 Warszawa"):
        assert words in text
    for words in ("Zażółć Gęślą Jaźń", "ul. Łąkowa 7 m. 3", "Żółkiewskiego", "Opłata sieciowa"):
        assert words in text
    assert "1 612,903" in text and "0,6200" in text
    assert f"PPE: {PPE}" in text
    assert "Numer partnera: 1000000101" in text and "Konto umowy: 200000000101" in text
    assert "1 034,56 zł" in text and "237,94 zł" in text  # the VAT summary
    assert "Słownie: jeden tysiąc" in text
    assert "Rachunek jest przypisany tylko do Ciebie" in text
    assert "Faktura VAT nr FV/2026/11/000101 · strona 1 z 1" in text


def test_every_polish_letter_reads_back(tmp_path: Path) -> None:
    doc = an_invoice(
        (a_line(f"Opis {POLISH}"),),
        buyer=Party(f"Nabywca {POLISH}", (f"ul. {POLISH} 1",)),
        amount_in_words=f"słownie {POLISH}",
    )
    text = text_of(rendered(doc), tmp_path)
    for printed in (f"Opis {POLISH}", f"Nabywca {POLISH}", f"ul. {POLISH} 1", f"słownie {POLISH}"):
        assert printed in text
    assert "\ufffd" not in text


def test_the_file_says_what_it_is() -> None:
    with pikepdf.open(io.BytesIO(rendered(an_invoice()))) as pdf:
        assert str(pdf.docinfo["/Title"]) == "Faktura VAT nr FV/2026/11/000101"
        assert str(pdf.docinfo["/Author"]) == "Sprzedawca Energii Sp. z o.o."
        assert str(pdf.docinfo["/CreationDate"]).startswith("D:20261105000000")
        assert str(pdf.Root.Lang) == "pl"
        box = [float(v) for v in pdf.pages[0].mediabox]
    assert box == pytest.approx([0, 0, 210 * PT_PER_MM, 297 * PT_PER_MM], abs=0.01)


def _links(pdf: bytes) -> list[tuple[str, list[float]]]:
    """(target, rectangle in points from the page's bottom-left) of each link annotation."""
    with pikepdf.open(io.BytesIO(pdf)) as opened:
        return [
            (str(annot.A.URI), [float(v) for v in annot.Rect])
            for page in opened.pages
            for annot in page.get("/Annots", [])
            if annot.Subtype == "/Link"
        ]


@pytest.mark.parametrize("tail", ["abc123", "x" * 120])  # one line, and wrapped
def test_the_pay_link_is_a_link_over_its_text(tmp_path: Path, tail: str) -> None:
    url = f"https://ebok.example.pl/pay/{tail}"
    pdf = rendered(an_invoice(pay_url=url))
    links = _links(pdf)
    assert links and {target for target, _ in links} == {url}
    boxes = text_of(pdf, tmp_path, "-bbox")
    page_height = float(re.search(r'<page width="[\d.]+" height="([\d.]+)"', boxes).group(1))  # type: ignore[union-attr]
    words = re.findall(
        r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(?:https://ebok|x+<)',
        boxes,
    )
    # One link per printed line of the address, each over its line's text. pdftotext counts
    # y from the top, the annotation from the bottom of the page.
    assert len(words) == len(links)
    for (_, (left, bottom, right, top)), word in zip(links, words, strict=True):
        x0, y0, x1, y1 = (float(v) for v in word)
        assert abs(left - x0) < 1 and abs(right - x1) < 1
        assert y0 < page_height - (bottom + top) / 2 < y1


def test_same_document_same_bytes() -> None:
    assert render_invoice_pdf(an_invoice()) == render_invoice_pdf(an_invoice())
    later = an_invoice(issue_date=date(2026, 11, 6))
    assert render_invoice_pdf(later) != render_invoice_pdf(an_invoice())


def test_documents_share_no_font_state(tmp_path: Path) -> None:
    # Each document embeds the glyphs it draws; a document in other letters changes no other.
    first = rendered(an_invoice())
    other = an_invoice(buyer=Party("Олена Ковальчук Ωμέγα", ("вул. Шевченка 5",)))
    assert "Олена Ковальчук Ωμέγα" in text_of(rendered(other), tmp_path)
    assert render_invoice_pdf(an_invoice()) == first
    assert "Zażółć Gęślą Jaźń" in text_of(first, tmp_path)


def _pages(pdf: bytes) -> int:
    with pikepdf.open(io.BytesIO(pdf)) as opened:
        return len(opened.pages)


def test_sixty_lines_paginate_with_headings_repeated(tmp_path: Path) -> None:
    lines = tuple(a_line(f"Pozycja numer {i:02d} — dystrybucja", net=1_000 + i) for i in range(60))
    pdf = rendered(an_invoice(lines))
    text = flat(text_of(pdf, tmp_path))
    pages = _pages(pdf)
    assert pages >= 2 and text.count("\f") == pages
    assert text.count("Cena netto") == pages  # the table's headings again on every page
    found = re.findall(r"Pozycja numer (\d\d) — dystrybucja", text)
    assert found == [f"{i:02d}" for i in range(60)]  # each line once, in order
    for number in range(1, pages + 1):
        assert f"strona {number} z {pages}" in text


def test_long_descriptions_wrap_in_their_cell_across_pages(tmp_path: Path) -> None:
    words = "dystrybucja energii elektrycznej w strefie całodobowej"
    lines = tuple(a_line(f"L{i:03d} {words} {words} K{i:03d}", net=500 + i) for i in range(45))
    pdf = rendered(an_invoice(lines))
    assert _pages(pdf) >= 3
    text = flat(text_of(pdf, tmp_path))
    # Both ends of every description are printed: its first line and its wrapped last one.
    assert re.findall(r"L(\d{3}) ", text) == [f"{i:03d}" for i in range(45)]
    assert re.findall(r"K(\d{3})", text) == [f"{i:03d}" for i in range(45)]
    net = sum((line.net for line in lines), Money.ZERO)
    assert flat(f"Razem {net.format_pl()}") in " ".join(text.split())  # the summary after them


def test_a_description_longer_than_a_page_is_continued(tmp_path: Path) -> None:
    # fpdf2 refuses a table row higher than a page: the cell goes on in the rows under it.
    many_lines = "\n".join(f"wiersz {i:03d}" for i in range(150))
    wide = "W" * 1500  # no space to break at: broken where it reaches the cell's edge
    pdf = rendered(an_invoice((a_line(many_lines), a_line(wide), a_line("Ostatnia"))))
    text = text_of(pdf, tmp_path)
    assert re.findall(r"wiersz (\d{3})", text) == [f"{i:03d}" for i in range(150)]
    assert "".join(re.findall(r"W{5,}", text)) == wide
    assert "Ostatnia" in text and _pages(pdf) >= 4
    pages = _pages(pdf)
    assert f"strona {pages} z {pages}" in text


def test_amounts_end_at_their_cells_right_edge(tmp_path: Path) -> None:
    pdf = rendered(an_invoice())
    boxes = text_of(pdf, tmp_path, "-bbox")
    # The gross column is the table's last: its right-aligned amounts end PAD inside it.
    edge = (LEFT + sum(COLUMNS) - PAD) * PT_PER_MM
    ends = [float(x) for x in re.findall(r'xMax="([\d.]+)" [^>]*>zł<', boxes)]
    assert len([x for x in ends if abs(x - edge) < 0.5]) == 2  # both lines' gross amounts
    starts = [float(x) for x in re.findall(r'xMin="([\d.]+)" [^>]*>Energia<', boxes)]
    assert starts == [pytest.approx((LEFT + COLUMNS[0] + PAD) * PT_PER_MM, abs=0.5)]


def test_correction_prints_what_and_why(tmp_path: Path) -> None:
    minus = InvoiceLine(
        "Korekta zużycia",
        Decimal("-100"),
        "kWh",
        Decimal("0.62"),
        23,
        Money(-6_200),
        Money(-1_426),
        Money(-7_626),
    )
    doc = an_invoice(
        (minus,),
        number="FK/2026/11/000007",
        correction=Correction("FV/2026/11/000101", date(2026, 11, 5), "Błędny odczyt licznika"),
    )
    pdf = rendered(doc)
    text = flat(text_of(pdf, tmp_path))
    assert "Faktura korygująca" in text and "FK/2026/11/000007" in text
    assert "Korekta faktury nr FV/2026/11/000101 z dnia 05.11.2026" in text
    assert "Przyczyna korekty: Błędny odczyt licznika" in text
    assert "Kwota do zwrotu: 76,26 zł" in text and "-76,26 zł" in text
    assert "Zapłać online" not in text  # nothing to pay
    assert _links(pdf) == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"gross_total": Money(1)}, "gross_total"),
        ({"nrb": "61109010140000071219812875"}, "nrb"),
        ({"ppes": ("590380100000012345",)}, "ppes[0]"),
        ({"due_date": date(2026, 11, 1)}, "due_date"),
        ({"pay_url": "javascript:alert(1)"}, "pay_url"),
        ({"vat_totals": ()}, "lines[0].vat_rate"),
        ({"number": "FV 2026"}, "number"),
        ({"contract_account": "12"}, "contract_account"),
    ],
)
def test_a_document_that_does_not_add_up_is_refused(change: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        an_invoice(**change)
    assert field in err.value.errors


def test_a_line_must_add_up() -> None:
    with pytest.raises(InvalidInput) as err:
        InvoiceLine("x", Decimal(1), "kWh", Decimal(1), 23, Money(100), Money(23), Money(124))
    assert "gross" in err.value.errors


def test_vat_summary_must_match_the_lines() -> None:
    doc = an_invoice()
    wrong = VatTotal(
        23, doc.vat_totals[0].net + Money(1), Money(0), doc.vat_totals[0].net + Money(1)
    )
    with pytest.raises(InvalidInput) as err:
        an_invoice(vat_totals=(wrong,), gross_total=wrong.gross)
    assert "vat_totals[23%].net" in err.value.errors


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(min_size=1, max_size=300).filter(str.strip), st.text(max_size=80))
def test_any_text_renders(description: str, name_tail: str) -> None:
    doc = an_invoice(
        (a_line(description),),
        buyer=Party("Klient " + name_tail, (name_tail,)),
    )
    pdf = render_invoice_pdf(doc)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert structure_problems(pdf) == []


# Letters of every script the shipped faces keep, as pdftotext gives them back: no
# compatibility characters (ligatures, ŉ, ǅ), which it may spell out, and no combining marks.
LETTERS = sorted(
    chr(code)
    for code in coverage_of(find_fonts()).cmap
    if unicodedata.category(chr(code)) in ("Lu", "Ll")
    and unicodedata.normalize("NFKC", chr(code)) == chr(code)
)


# Words of two letters or more: pdftotext joins two one-letter words ("A A" reads "AA") though
# the PDF draws the space between them (checked in the content stream), and a one-letter word
# would be found inside any other.
NAMES = st.lists(st.text(st.sampled_from(LETTERS), min_size=2, max_size=10), min_size=1, max_size=3)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(NAMES)
def test_every_script_of_the_font_prints(
    tmp_path_factory: pytest.TempPathFactory, words: list[str]
) -> None:
    name = " ".join(words)
    doc = an_invoice((a_line(name),), buyer=Party(name, (name,)))
    text = text_of(rendered(doc), tmp_path_factory.mktemp("pdf"))
    assert "\ufffd" not in text
    # The buyer's name and address line and the line's description: each word three times
    # over (a long name wraps inside its cell, so whole names need not stand on one line).
    for word, times in Counter(words).items():
        assert text.count(word) >= 3 * times, word


def test_latin_greek_cyrillic_and_vietnamese_print(tmp_path: Path) -> None:
    names = ("Nguyễn Thị Ánh Đặng", "Ωμέγα Αλφάβητο", "Олена Ковальчук Їжак", "Ærø Šťastný Œuvre")
    doc = an_invoice(tuple(map(a_line, names)), buyer=Party(names[0], (names[1], names[2])))
    text = text_of(rendered(doc), tmp_path)
    for name in names:
        assert name in text
    assert "\ufffd" not in text


def test_missing_glyphs_are_replaced_not_fatal(tmp_path: Path) -> None:
    # CJK and Devanagari are outside DejaVu Sans; the bidi override would reorder the text.
    doc = an_invoice((a_line("Prąd क 電 \u202eodwrócone {nb}"),))
    text = text_of(rendered(doc), tmp_path)
    assert "Prąd \ufffd \ufffd odwrócone {nb}" in text  # a page-count placeholder is only text


def test_scripts_beyond_the_shipped_faces_print_as_replacement(tmp_path: Path) -> None:
    # The shipped faces keep Latin (Vietnamese included), Greek and Cyrillic; DejaVu's Georgian,
    # Armenian, Hebrew and Arabic are left out of them, so those print as U+FFFD.
    doc = an_invoice(buyer=Party("Nguyễn Thị Ánh Ωμέγα Жанна", ("ქუჩა Երևան שלום سلام",)))
    text = text_of(rendered(doc), tmp_path)
    assert "Nguyễn Thị Ánh Ωμέγα Жанна" in text
    replaced = " ".join("\ufffd" * n for n in (4, 5, 4, 4))
    assert replaced in text


def test_a_private_use_character_cannot_stand_for_the_page_count(tmp_path: Path) -> None:
    # The footer's page count is a private-use placeholder until the document is closed.
    doc = an_invoice((a_line(f"Pozycja {PAGE_COUNT} koniec"),))
    text = text_of(rendered(doc), tmp_path)
    replaced = "\ufffd" * len(PAGE_COUNT)
    assert f"Pozycja {replaced} koniec" in text and "strona 1 z 1" in text


def test_same_bytes_in_another_process() -> None:
    # Set and dict order may vary with the hash seed: a retry runs in another worker process.
    script = (
        "import hashlib, sys; from tests.documents.sample import an_invoice; "
        "from ebok.documents.invoice_pdf import render_invoice_pdf; "
        "sys.stdout.write(hashlib.sha256(render_invoice_pdf(an_invoice())).hexdigest())"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            check=True,
            timeout=60,
            env={**os.environ, "PYTHONHASHSEED": seed},
            cwd=Path(__file__).parents[2],
            text=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert digests == {hashlib.sha256(render_invoice_pdf(an_invoice())).hexdigest()}


@pytest.mark.skipif(not SYSTEM_FONTS.is_dir(), reason="no system DejaVu fonts here")
def test_a_system_copy_is_the_fallback(tmp_path: Path) -> None:
    fonts = find_fonts([tmp_path, SYSTEM_FONTS])
    assert fonts.regular == SYSTEM_FONTS / "DejaVuSans.ttf"
    georgian = an_invoice(buyer=Party("ქუჩა Kowalski", ("ul. Łąkowa 7",)))
    from_system = rendered(georgian, fonts)
    text = text_of(from_system, tmp_path)
    assert "Należność" in text and "ქუჩა Kowalski" in text  # the full face has Georgian
    assert rendered(georgian, fonts) == from_system != rendered(georgian)
    assert "\ufffd" * 4 + " Kowalski" in text_of(rendered(georgian), tmp_path)
