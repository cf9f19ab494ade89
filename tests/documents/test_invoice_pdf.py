"""Invoice PDF: what pdftotext reads back, same bytes twice, pagination, any text renders."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fontTools.ttLib import TTFont  # type: ignore[import-untyped]
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ebok.documents import pdf_canvas, pdf_fonts
from ebok.documents.fonts import (
    BUNDLED_FONTS,
    FACES,
    FontFiles,
    FontNotFound,
    find_fonts,
    printable,
)
from ebok.documents.invoice_pdf import (
    Correction,
    InvoiceDocument,
    InvoiceLine,
    Party,
    VatTotal,
    render_invoice_pdf,
)
from ebok.documents.pdf_fonts import Cut, Face
from ebok.errors import InvalidInput
from ebok.money import Money
from tools.reduce_fonts import SOURCE_VERSION, coverage, reduce_face

PDFTOTEXT = "/usr/bin/pdftotext"
SYSTEM_FONTS = Path("/usr/share/fonts/truetype/dejavu")
NBSP = "\u00a0"
NRB = "61109010140000071219812874"
PPE = "590380100000012344"


def a_line(description: str = "Energia czynna całodobowa", net: int = 100_000) -> InvoiceLine:
    vat = net * 23 // 100
    return InvoiceLine(
        description=description, quantity=Decimal("1612.903"), unit="kWh",
        unit_price_net=Decimal("0.6200"), vat_rate=23,
        net=Money(net), vat=Money(vat), gross=Money(net + vat),
    )  # fmt: skip


def an_invoice(lines: tuple[InvoiceLine, ...] | None = None, **changes: Any) -> InvoiceDocument:
    lines = lines or (a_line(), a_line("Opłata sieciowa zmienna", net=3_456))
    net = sum((line.net for line in lines), Money.ZERO)
    vat = sum((line.vat for line in lines), Money.ZERO)
    doc = InvoiceDocument(
        number="FV/2026/11/000101", issue_date=date(2026, 11, 5),
        period_from=date(2026, 10, 1), period_to=date(2026, 10, 31),
        due_date=date(2026, 11, 19),
        seller=Party("Sprzedawca Energii Sp. z o.o.", ("ul. Żółkiewskiego 1", "00-950 Warszawa"),
                     nip="5260250995"),
        buyer=Party("Zażółć Gęślą Jaźń", ("ul. Łąkowa 7 m. 3", "02-001 Warszawa")),
        partner_number="1000000101", contract_account="200000000101", ppes=(PPE,),
        lines=lines, vat_totals=(VatTotal(23, net, vat, net + vat),), gross_total=net + vat,
        nrb=NRB, pay_url="https://ebok.example.pl/pay/abc123",
        amount_in_words="jeden tysiąc dwieście siedemdziesiąt dwa złote 50/100",
    )  # fmt: skip
    return dataclasses.replace(doc, **changes)


def text_of(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "invoice.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(
        [PDFTOTEXT, "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True, timeout=30
    )
    return done.stdout.decode("utf-8")


def flat(text: str) -> str:
    """pdftotext may render U+00A0 as a plain space."""
    return text.replace(NBSP, " ")


def test_pdftotext_reads_the_invoice(tmp_path: Path) -> None:
    doc = an_invoice()
    text = flat(text_of(render_invoice_pdf(doc), tmp_path))
    assert "Faktura VAT" in text
    assert "FV/2026/11/000101" in text
    assert "Należność do zapłaty: 1 272,50 zł" in text
    assert "1 230,00 zł" in text  # the first line's gross
    assert "61 1090 1014 0000 0712 1981 2874" in text
    assert "Termin płatności: 19.11.2026" in text
    assert "Zapłać online" in text and "https://ebok.example.pl/pay/abc123" in text
    for words in ("Zażółć Gęślą Jaźń", "ul. Łąkowa 7 m. 3", "Żółkiewskiego", "Opłata sieciowa"):
        assert words in text
    assert "1 612,903" in text and "0,6200" in text
    assert PPE in text and "1000000101" in text and "200000000101" in text
    assert "Słownie: jeden tysiąc" in text


@pytest.mark.parametrize("tail", ["abc123", "x" * 120])  # one line, and wrapped
def test_the_pay_link_is_a_link_over_its_text(tmp_path: Path, tail: str) -> None:
    url = f"https://ebok.example.pl/pay/{tail}"
    pdf = render_invoice_pdf(an_invoice(pay_url=url))
    annotation = re.search(rb"/URI \((.*?)\)>>.*?/Rect \[([\d. ]+)\]", pdf, re.DOTALL)
    assert annotation is not None and annotation.group(1).decode() == url
    left, bottom, right, top = (float(v) for v in annotation.group(2).split())
    path = tmp_path / "invoice.pdf"
    path.write_bytes(pdf)
    boxes = subprocess.run(
        [PDFTOTEXT, "-bbox", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
    page_height = float(re.search(r'<page width="[\d.]+" height="([\d.]+)"', boxes).group(1))  # type: ignore[union-attr]
    word = re.search(
        r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">https://ebok', boxes
    )
    assert word is not None
    x0, y0, x1, y1 = (float(v) for v in word.groups())
    # pdftotext counts y from the top, the annotation from the bottom of the page. The link
    # starts where the text does and is on its (first) line; one line is covered whole.
    assert abs(left - x0) < 1 and y0 < page_height - (bottom + top) / 2 < y1
    assert right >= x1 - 0.5 or len(url) > 80


def test_same_document_same_bytes() -> None:
    assert render_invoice_pdf(an_invoice()) == render_invoice_pdf(an_invoice())
    later = an_invoice(issue_date=date(2026, 11, 6))
    assert render_invoice_pdf(later) != render_invoice_pdf(an_invoice())


def test_documents_share_no_font_state(tmp_path: Path) -> None:
    # The parsed font is kept for the process; each document subsets its own copy of it.
    first = render_invoice_pdf(an_invoice())
    other = an_invoice(buyer=Party("Олена Ковальчук Ωμέγα", ("вул. Шевченка 5",)))
    assert "Олена Ковальчук Ωμέγα" in text_of(render_invoice_pdf(other), tmp_path)
    assert render_invoice_pdf(an_invoice()) == first
    assert "Zażółć Gęślą Jaźń" in text_of(first, tmp_path)


def test_sixty_lines_paginate_with_headings_repeated(tmp_path: Path) -> None:
    lines = tuple(a_line(f"Pozycja numer {i:02d} — dystrybucja", net=1_000 + i) for i in range(60))
    text = flat(text_of(render_invoice_pdf(an_invoice(lines)), tmp_path))
    pages = text.count("\f")
    assert pages >= 2
    assert text.count("Cena netto") >= 2  # the table's headings again on the next page
    for i in range(60):
        assert f"Pozycja numer {i:02d}" in text
    assert f"strona 1 z {pages}" in text and f"strona {pages} z {pages}" in text


def test_correction_prints_what_and_why(tmp_path: Path) -> None:
    minus = InvoiceLine("Korekta zużycia", Decimal("-100"), "kWh", Decimal("0.62"), 23,
                        Money(-6_200), Money(-1_426), Money(-7_626))  # fmt: skip
    doc = an_invoice(
        (minus,), number="FK/2026/11/000007",
        correction=Correction("FV/2026/11/000101", date(2026, 11, 5), "Błędny odczyt licznika"),
    )  # fmt: skip
    text = flat(text_of(render_invoice_pdf(doc), tmp_path))
    assert "Faktura korygująca" in text and "FK/2026/11/000007" in text
    assert "Korekta faktury nr FV/2026/11/000101 z dnia 05.11.2026" in text
    assert "Przyczyna korekty: Błędny odczyt licznika" in text
    assert "Kwota do zwrotu: 76,26 zł" in text and "-76,26 zł" in text
    assert "Zapłać online" not in text  # nothing to pay


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


def test_missing_glyphs_are_replaced_not_fatal(tmp_path: Path) -> None:
    # CJK and Devanagari are outside DejaVu Sans; the bidi override would reorder the text.
    doc = an_invoice((a_line("Prąd क 電 \u202eodwrócone {nb}"),))
    text = text_of(render_invoice_pdf(doc), tmp_path)
    assert "Prąd \ufffd \ufffd odwrócone {nb}" in text  # a page-count placeholder is only text


def test_scripts_beyond_the_shipped_faces_print_as_replacement(tmp_path: Path) -> None:
    # The shipped faces keep Latin (Vietnamese included), Greek and Cyrillic; DejaVu's Georgian,
    # Armenian, Hebrew and Arabic are left out of them, so those print as U+FFFD.
    doc = an_invoice(
        buyer=Party("Nguyễn Thị Ánh Ωμέγα Жанна", ("ქუჩა Երևան שלום سلام",)),
    )  # fmt: skip
    text = text_of(render_invoice_pdf(doc), tmp_path)
    assert "Nguyễn Thị Ánh Ωμέγα Жанна" in text
    assert "\ufffd" * 4 + " " + "\ufffd" * 5 + " " + "\ufffd" * 4 + " " + "\ufffd" * 4 in text


def test_printable_keeps_what_the_font_has() -> None:
    cmap = {ord(c): "g" for c in "abcą \ufffd"}
    assert printable("ab\tc\x00ą\u200bz\ue000", cmap) == "ab c ą\ufffd\ufffd"
    assert printable("a\nb", cmap, newlines=True) == "a\nb"
    assert printable("a\r\nb", cmap) == "a b"
    assert printable("z", {ord("a"): "g"}) == "?"


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
        cmap = TTFont(BUNDLED_FONTS / reduced, lazy=True).getBestCmap()
        assert set(cmap) <= coverage()
        assert not [c for c in wanted if ord(c) not in cmap]


def _system_version() -> str | None:
    regular = SYSTEM_FONTS / FACES[0][0]
    return TTFont(regular, lazy=True)["name"].getDebugName(5) if regular.is_file() else None


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


def test_same_bytes_in_another_process() -> None:
    # Set and dict order may vary with the hash seed: a retry runs in another worker process.
    script = (
        "import hashlib, sys; from tests.documents.test_invoice_pdf import *; "
        "sys.stdout.write(hashlib.sha256(render_invoice_pdf(an_invoice())).hexdigest())"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", script], capture_output=True, check=True, timeout=60,
            env={**os.environ, "PYTHONHASHSEED": seed}, cwd=Path(__file__).parents[2], text=True,
        ).stdout
        for seed in ("1", "2")
    }  # fmt: skip
    assert digests == {hashlib.sha256(render_invoice_pdf(an_invoice())).hexdigest()}


@pytest.mark.skipif(not SYSTEM_FONTS.is_dir(), reason="no system DejaVu fonts here")
def test_a_system_copy_is_the_fallback(tmp_path: Path) -> None:
    fonts = find_fonts([tmp_path, SYSTEM_FONTS])
    assert fonts.regular == SYSTEM_FONTS / "DejaVuSans.ttf"
    text = text_of(render_invoice_pdf(an_invoice(), fonts=fonts), tmp_path)
    assert "Należność" in text


def _clear_font_caches() -> None:
    pdf_fonts._cut.cache_clear()
    pdf_canvas._font_objects.cache_clear()


def test_an_invoice_in_common_letters_is_written_with_the_fonts_cut_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    made: list[Cut] = []
    make = pdf_fonts._cut_uncached

    def counted(face: Face, codes: frozenset[int]) -> Cut:
        made.append(make(face, codes))
        return made[-1]

    _clear_font_caches()
    monkeypatch.setattr(pdf_fonts, "_cut_uncached", counted)
    assert "Zażółć Gęślą Jaźń" in text_of(render_invoice_pdf(an_invoice()), tmp_path)
    assert len(made) == 2  # both faces
    render_invoice_pdf(an_invoice(number="FV/2026/11/000102"))
    assert len(made) == 2  # the same cuts again
    # The buyer's name is in bold: that face is cut for this document, the regular one is not.
    other = an_invoice(buyer=Party("Jürgen Müller-Straße", ("ul. Łąkowa 7", "02-001 Warszawa")))
    assert "Jürgen Müller-Straße" in text_of(render_invoice_pdf(other), tmp_path)
    assert len(made) == 3 and made[-1].face.bold
    assert "ü" in made[-1].glyph and "ü" not in made[0].glyph


def test_fonts_made_once_write_the_same_bytes(tmp_path: Path) -> None:
    first, second = an_invoice(), an_invoice(number="FV/2026/11/000102")
    render_invoice_pdf(first)
    reused = render_invoice_pdf(second)
    _clear_font_caches()
    assert render_invoice_pdf(second) == reused  # made for it alone: not a byte different
    assert "FV/2026/11/000102" in text_of(reused, tmp_path)
    # A document with other letters has its own cuts and leaves the kept ones as they were.
    lines = tuple(a_line(f"Pozycja {i:02d}") for i in range(60))
    other = an_invoice(lines, buyer=Party("Олена Ковальчук", ("вул. Шевченка 5",)))
    assert "Олена Ковальчук" in text_of(render_invoice_pdf(other), tmp_path)
    assert render_invoice_pdf(second) == reused


@pytest.mark.skipif(not SYSTEM_FONTS.is_dir(), reason="no system DejaVu fonts here")
def test_fonts_are_kept_per_font_file(tmp_path: Path) -> None:
    system = find_fonts([tmp_path, SYSTEM_FONTS])
    bundled = render_invoice_pdf(an_invoice())
    from_system = render_invoice_pdf(an_invoice(), fonts=system)
    _clear_font_caches()
    assert render_invoice_pdf(an_invoice(), fonts=system) == from_system != bundled
    assert render_invoice_pdf(an_invoice()) == bundled
