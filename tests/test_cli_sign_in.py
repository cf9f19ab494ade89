"""``ebok sign-in``, ``session-valid`` and ``password-reset*`` against the dev server, SMTP and
store."""

from __future__ import annotations

import io
import json
import sys

import pytest
from temporalio.testing import WorkflowEnvironment

from ebok.models.password_reset import RESET_PAGE
from ebok.settings import Settings
from ebok.store.db import Store
from entrypoints.devsmtp import DevSmtpServer
from tests.account.helpers import NEW_PASSWORD, PASSWORD, an_account_with_password
from tests.conftest import worker_for
from tests.mailbox import body
from tests.test_cli import clean_env, cli_env, ebok  # noqa: F401 (fixtures)


def typed(monkeypatch: pytest.MonkeyPatch, password: str) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(password + "\n"))


@pytest.mark.usefixtures("cli_env")
async def test_sign_in_reset_confirm_and_the_old_session_ends(
    env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    account_id, email, login = await an_account_with_password(store)
    sign_in = ("sign-in", login, "--client-ip", "192.0.2.55", "--password-stdin", "--json")
    typed(monkeypatch, PASSWORD)
    assert await ebok(*sign_in) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["outcome"] == "signed_in" and answer["generation"] == 1
    typed(monkeypatch, "not the password")
    assert await ebok(*sign_in) == 3
    assert json.loads(capsys.readouterr().out)["outcome"] == "refused"
    typed(monkeypatch, PASSWORD)
    assert await ebok("sign-in", login, "--client-ip", "nowhere", "--password-stdin") == 2
    assert "client_ip" in capsys.readouterr().err

    async with worker_for(env.client, settings, store):
        assert await ebok("password-reset", email) == 0
        assert capsys.readouterr().out.strip() == "accepted"
        (mail,) = await smtpd.wait_for(1)
        link = next(w for w in body(mail).split() if RESET_PAGE in w)
        typed(monkeypatch, "short")
        assert await ebok("password-reset-confirm", link, "--password-stdin") == 2
        assert "error: password:" in capsys.readouterr().err
        typed(monkeypatch, NEW_PASSWORD)
        assert await ebok("password-reset-confirm", link, "--password-stdin", "--json") == 0
        assert json.loads(capsys.readouterr().out) == {"outcome": "changed"}
        assert await ebok("password-reset-status", account_id, "--json") == 0
        assert json.loads(capsys.readouterr().out)["state"] in ("changed",)
        await smtpd.wait_for(2)
    assert await ebok("session-valid", account_id, "1") == 3
    assert capsys.readouterr().out.strip() == "false"
    assert await ebok("session-valid", account_id, "2", "--json") == 0
    assert json.loads(capsys.readouterr().out) == {"valid": True}
