"""The account's mails render in both languages with their links; the "account exists" notice
links to the real password reset."""

from __future__ import annotations

import pytest

from activities.mail import MailComposer

LINK = "https://ebok.test/nowe-haslo?token=" + "ab" * 32
RESET = "https://ebok.test/nie-pamietam-hasla"
COMPOSER = MailComposer("eBOK <no-reply@ebok.example.pl>")


@pytest.mark.parametrize("language", ["pl", "en"])
@pytest.mark.parametrize("name", ["password_reset", "account_locked"])
def test_link_mails(name: str, language: str) -> None:
    mail = COMPOSER.compose(
        name, language, "a@example.pl", "<x@y>", login="jan.k", link=LINK, expires_at="09.12.2026"
    )
    assert LINK in mail.text and f'href="{LINK}"' in (mail.html or "")
    assert "jan.k" in mail.text and "09.12.2026" in mail.text


@pytest.mark.parametrize(
    ("language", "subject"),
    [("pl", "Hasło do eBOK zostało zmienione"), ("en", "Your eBOK password was changed")],
)
def test_password_changed_says_what_to_do(language: str, subject: str) -> None:
    mail = COMPOSER.compose(
        "password_changed",
        language,
        "a@example.pl",
        "<x@y>",
        login="jan.k",
        changed_at="08.12.2026 10:00",
        reset_link=RESET,
    )
    assert mail.subject == subject
    assert (
        RESET in mail.text
        and f'href="{RESET}"' in (mail.html or "")
        and "08.12.2026 10:00" in mail.text
    )


@pytest.mark.parametrize("language", ["pl", "en"])
def test_account_exists_links_to_the_reset(language: str) -> None:
    mail = COMPOSER.compose(
        "account_exists",
        language,
        "a@example.pl",
        "<x@y>",
        login="jan.k",
        login_link="https://ebok.test/logowanie",
        reset_link=RESET,
    )
    assert RESET in mail.text and f'href="{RESET}"' in (mail.html or "")
