"""Account deletion's settings and mails: the link and the cooling-off fit in the month
GDPR art. 12(3) gives (the day on and the day after the limit), and every mail renders in
both languages with the facts it needs."""

from __future__ import annotations

from datetime import timedelta

import pytest

from activities.mail import MailComposer
from ebok.settings import DELETION_DEADLINE, DEMO_SELLER_NIP, Settings


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, invoice_seller_nip=DEMO_SELLER_NIP, **values)  # type: ignore[arg-type]


def test_link_and_cooling_off_fit_in_the_shortest_month() -> None:
    ttl = timedelta(hours=72)
    fits = settings(deletion_link_ttl=ttl, deletion_cooling_off=DELETION_DEADLINE - ttl)
    assert fits.deletion_cooling_off + fits.deletion_link_ttl == timedelta(days=28)
    with pytest.raises(ValueError, match="deletion_cooling_off"):
        settings(
            deletion_link_ttl=ttl, deletion_cooling_off=DELETION_DEADLINE - ttl + timedelta(days=1)
        )


def test_defaults_are_a_14_day_cooling_off_and_a_72_hour_link() -> None:
    s = settings()
    assert s.deletion_cooling_off == timedelta(days=14)
    assert s.deletion_link_ttl == timedelta(hours=72)


@pytest.mark.parametrize("language", ["pl", "en"])
@pytest.mark.parametrize("partners", [[], ["1000000101"]])
def test_every_deletion_mail_renders(language: str, partners: list[str]) -> None:
    composer = MailComposer("eBOK <no-reply@ebok.example.pl>")
    facts = {
        "login": "jan.k",
        "link": "https://ebok.test/usun-konto/potwierdz?token=ab",
        "expires_at": "01.12.2026 10:00",
        "cooling_off_days": 14,
        "erase_at": "15.12.2026 10:00",
        "sign_in_link": "https://ebok.test/logowanie",
        "partners": partners,
    }
    for name in ("deletion_confirm", "deletion_scheduled", "deletion_deleted"):
        mail = composer.compose(name, language, "jan@example.pl", "<x@y>", **facts)
        assert "jan.k" in mail.text and "jan.k" in (mail.html or "")
        assert mail.subject and "\n" not in mail.subject
    deleted = composer.compose("deletion_deleted", language, "jan@example.pl", "<x@y>", **facts)
    assert ("1000000101" in deleted.text) is bool(partners)
