"""``ebok account-delete*`` and ``ebok account-export`` against the dev server, SMTP and store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from ebok.models.deletion import CONFIRM_PAGE
from ebok.settings import Settings
from ebok.store.db import Store
from entrypoints.devsmtp import DevSmtpServer
from tests.conftest import worker_for
from tests.factories import a_linked_account
from tests.mailbox import body
from tests.test_cli import clean_env, cli_env, ebok  # noqa: F401 (fixtures)


@pytest.mark.usefixtures("cli_env")
async def test_request_confirm_cancel_and_export(
    env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    account, email, partner = await a_linked_account(store)
    assert await ebok("account-delete", "NOT AN ID") == 2
    assert "account_id" in capsys.readouterr().err
    async with worker_for(env.client, settings, store):
        assert await ebok("account-delete", account, "--json") == 0
        assert json.loads(capsys.readouterr().out)["link_number"] == 1
        assert await ebok("account-delete-resend", account, "--json") == 4
        assert json.loads(capsys.readouterr().out)["error"] == "rate_limited"

        (mail,) = await smtpd.wait_for(1)
        assert mail["To"] == email
        link = next(w for w in body(mail).split() if CONFIRM_PAGE in w)
        assert await ebok("account-delete-confirm", link, "--json") == 0
        assert json.loads(capsys.readouterr().out)["outcome"] == "scheduled"
        assert await ebok("account-delete-confirm", link) == 3
        assert capsys.readouterr().out.strip() == "already_used"

        assert await ebok("account-delete-status", account, "--json") == 0
        assert json.loads(capsys.readouterr().out)["state"] == "scheduled"
        code = await ebok(
            "account-delete-cancel", account, "--staff", "anna.b", "--reason", "phoned", "--json"
        )
        assert code == 0 and json.loads(capsys.readouterr().out)["state"] == "cancelled"
        assert await ebok("account-delete-cancel", account) == 1  # nothing left to stop
        capsys.readouterr()

    out = tmp_path / "export.json"
    assert await ebok("account-export", account, "--out", str(out)) == 0
    exported = json.loads(out.read_text(encoding="utf-8"))
    assert exported["sections"]["profile"][0]["email"] == email
    assert exported["sections"]["partner_links"][0]["partner_number"] == partner.number
    subjects = {m["kind"]: m["subject"] for m in exported["sections"]["mails_sent"]}
    assert subjects["deletion-link"] == "Potwierdź usunięcie konta w eBOK"
    assert subjects["deletion-scheduled"].startswith("Usunięcie konta zaplanowane na ")
