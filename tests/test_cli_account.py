"""``ebok profile*``, ``ebok email-change*``, ``ebok consent*`` and ``ebok export changes``
against the dev server, SMTP and store."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from ebok.models.email_change import CONFIRM_PAGE, UNDO_PAGE
from ebok.settings import Settings
from ebok.store.db import Store
from entrypoints.devsmtp import DevSmtpServer
from tests.conftest import worker_for
from tests.factories import a_linked_account
from tests.mailbox import addressed_to, body
from tests.test_cli import clean_env, cli_env, ebok  # noqa: F401 (fixtures)


@pytest.mark.usefixtures("cli_env")
async def test_profile_consents_and_billing_export(
    store: Store, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    account, _, partner = await a_linked_account(store)
    assert await ebok("export", "changes") == 0  # what other tests left
    capsys.readouterr()
    assert await ebok("profile-set", account, "--postal-code", "1234", "--street", "Prosta 1",
                      "--city", "Warszawa") == 2  # fmt: skip
    assert "error: address.postal_code:" in capsys.readouterr().err
    assert await ebok("profile-set", account, "--phone", "601 234 567", "--street", "Prosta 1",
                      "--postal-code", "00-001", "--city", "Warszawa", "--notify",
                      "outages=off", "--json") == 0  # fmt: skip
    shown = json.loads(capsys.readouterr().out)
    assert shown["phone"] == "+48601234567" and shown["notifications"]["outages"] is False

    assert await ebok("export", "changes") == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["partner_number"], r["field"]) for r in rows] == [
        (partner.number, "phone"),
        (partner.number, "address"),
    ]
    assert await ebok("export", "changes", "--format", "json") == 0
    assert json.loads(capsys.readouterr().out) == {"batch": None, "changes": []}  # nothing new
    assert await ebok("export", "changes", "--batch", rows[0]["batch"], "--format", "json") == 0
    assert len(json.loads(capsys.readouterr().out)["changes"]) == 2  # the batch again

    text = tmp_path / "zgoda.txt"
    text.write_text("Zgadzam się na pisma e-mailem.", encoding="utf-8")
    assert await ebok("consent-give", account, "electronic_notices", "--version", "2026-01",
                      "--text-file", str(text), "--json") == 0  # fmt: skip
    assert json.loads(capsys.readouterr().out)["given"] is True
    assert await ebok("consent-withdraw", account, "electronic_notices", "--channel",
                      "phone") == 0  # fmt: skip
    capsys.readouterr()
    assert await ebok("consents", account, "--export") == 0
    exported = json.loads(capsys.readouterr().out)
    assert [e["action"] for e in exported["history"]] == ["given", "withdrawn"]


@pytest.mark.usefixtures("cli_env")
async def test_email_change_confirm_undo_unlock(
    env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    account, old, _ = await a_linked_account(store)
    new = f"cli.{account[:8]}@example.pl"
    async with worker_for(env.client, settings, store):
        assert await ebok("email-change", account, "nope") == 2
        assert "new_email" in capsys.readouterr().err
        assert await ebok("email-change", account, new) == 0
        assert "expires_at" in capsys.readouterr().out
        (mail,) = await smtpd.wait_for(1)
        link = next(w for w in body(mail).split() if CONFIRM_PAGE in w)
        assert await ebok("email-change-confirm", link, "--json") == 0
        assert json.loads(capsys.readouterr().out) == {"outcome": "changed"}
        (told,) = addressed_to(await smtpd.wait_for(2), old)
        undo = next(w for w in body(told).split() if UNDO_PAGE in w)
        assert await ebok("email-change-undo", undo) == 0
        assert await ebok("email-change-undo", undo) == 3
        assert capsys.readouterr().out.split() == ["undone", "already_used"]
        assert await ebok("email-change-status", account, "--json") == 0
        assert json.loads(capsys.readouterr().out)["state"] == "locked"
        assert await ebok("email-change-unlock", account, "--staff", "anna.b", "--reason",
                          "checked", "--json") == 0  # fmt: skip
        assert json.loads(capsys.readouterr().out)["state"] == "unlocked"
        await smtpd.wait_for(4)
    async with store.begin() as uow:
        account_now = await uow.accounts.get(account)
    assert account_now is not None and (account_now.email, account_now.status) == (old, "active")
