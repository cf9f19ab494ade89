"""The outage notices as the customer reads them, every kind in both languages: no runs of
blank lines, a signature, times with their zone, the district with its Polish letters, the
DSO's own emergency line, and the truth about the bonifikata (the DSO grants it on request)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from activities.mail import MailComposer
from ebok.models.outage import NoticeKind

COMPOSER = MailComposer("eBOK <no-reply@ebok.example.pl>")


def notice(kind: NoticeKind, language: str = "pl", **more: Any) -> tuple[str, str, str]:
    context: dict[str, Any] = dict(
        kind=kind.value,
        ppe="590380100001001378",
        area="Warszawa-Mokotów",
        phase="restored" if kind in (NoticeKind.RESTORED,) else "acknowledged",
        planned=False,
        started_at="07.12.2026 21:05 CET",
        eta="08.12.2026 02:00 CET",
        window_end="",
        restored_at="08.12.2026 23:40 CET" if kind is NoticeKind.RESTORED else "",
        entitled=False,
        limit_hours="24",
        over_year=False,
        yearly_hours="48",
        report_link="https://ebok.test/awarie?zgloszenie=outage-x",
    )
    context.update(more)
    mail = COMPOSER.compose("outage_notice", language, "jan@example.pl", "<m@x>", **context)
    return mail.subject, mail.text, mail.html or ""


@pytest.mark.parametrize("language", ["pl", "en"])
@pytest.mark.parametrize("kind", list(NoticeKind))
def test_every_notice_reads_cleanly(kind: NoticeKind, language: str) -> None:
    subject, text, html = notice(kind, language, entitled=kind is NoticeKind.COMPENSATION)
    assert "\n\n\n" not in text and not text.startswith("\n")
    assert text.rstrip().endswith("Zespół eBOK" if language == "pl" else "The eBOK team")
    assert "Warszawa-Mokotów" in text and "22 821 31 31" in text and "991" not in text
    assert "<p></p>" not in html and html.count("<p>") >= 4
    assert subject and "\n" not in subject
    if kind is not NoticeKind.RESTORED:
        assert re.search(r"\d{2}:\d{2} CET", text)  # times carry their zone


def test_the_bonifikata_is_claimed_from_the_dso_never_settled_on_our_invoice() -> None:
    _, text, html = notice(NoticeKind.RESTORED, entitled=True, limit_hours="16")
    assert "fakturze" not in text and "nie musisz" not in text
    assert "dopuszczalne 16 h" in text and "wniosek o bonifikatę do Stoen Operator" in text
    assert "dziesięciokrotność ceny energii" in text and "590380100001001378" in text
    assert "Przerwa trwała" in text
    _, english, _ = notice(NoticeKind.COMPENSATION, "en", entitled=True)
    assert "invoice" not in english and "request for the bonifikata" in english


def test_the_first_expected_time_is_not_called_new() -> None:
    first, text, _ = notice(NoticeKind.ETA_SET)
    changed, _, _ = notice(NoticeKind.ETA_CHANGED)
    assert first.startswith("Przewidywany czas") and "nowy" not in (first + text).lower()
    assert changed.startswith("Nowy przewidywany czas")


def test_html_escapes_what_the_text_carries() -> None:
    _, _, html = notice(NoticeKind.RECEIVED, area="<b>Wola</b>", ppe="5903<script>")
    assert "<script>" not in html and "&lt;script&gt;" in html and "&lt;b&gt;Wola" in html


def test_over_the_yearly_limit_the_mail_says_the_year_is_over() -> None:
    _, text, _ = notice(NoticeKind.RESTORED, entitled=True, over_year=True)
    assert "w tym roku trwały łącznie dłużej niż dopuszczalne 48 h" in text
    assert "dopuszczalne 24 h" not in text and "wniosek o bonifikatę" in text


def test_districts_are_named_with_their_polish_letters() -> None:
    from adapters.operator.incidents import AREAS, area_name

    assert area_name("warszawa-mokotow") == "Warszawa-Mokotów"
    assert area_name("warszawa-praga-polnoc") == "Warszawa-Praga-Północ"
    assert area_name("T-1A2B") == "T-1A2B"  # an area we have no name for, as given
    assert all(area_name(a) != a for a in AREAS)  # every district of the DSO has its name
