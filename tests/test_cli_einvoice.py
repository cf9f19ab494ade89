"""``ebok einvoice-*`` against the dev server, SMTP and store."""

from __future__ import annotations

import json

import pytest
from temporalio.testing import WorkflowEnvironment

from ebok.models.einvoice import CONFIRM_PAGE
from ebok.settings import Settings
from ebok.store.db import Store
from entrypoints.devsmtp import DevSmtpServer
from tests.conftest import worker_for
from tests.factories import a_linked_account, a_partner
from tests.mailbox import body
from tests.test_cli import clean_env, cli_env, ebok  # noqa: F401 (fixtures)


@pytest.mark.usefixtures("cli_env")
async def test_request_confirm_status_withdraw(
    env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    account, email, partner = await a_linked_account(store)
    other = await a_partner(store)
    async with worker_for(env.client, settings, store):
        assert (
            await ebok("einvoice-request", account, other.number, "--terms-version", "2026-01") == 2
        )
        assert "partner_number" in capsys.readouterr().err
        assert (
            await ebok("einvoice-request", account, partner.number, "--terms-version", "2026-01")
            == 0
        )
        capsys.readouterr()
        assert await ebok("einvoice-resend", partner.number, "--json") == 4
        assert json.loads(capsys.readouterr().out)["error"] == "rate_limited"

        (mail,) = await smtpd.wait_for(1)
        assert mail["To"] == email
        link = next(w for w in body(mail).split() if CONFIRM_PAGE in w)
        assert await ebok("einvoice-confirm", link, "--json") == 0
        assert json.loads(capsys.readouterr().out) == {"outcome": "active"}
        assert await ebok("einvoice-confirm", link) == 3
        assert capsys.readouterr().out.strip() == "already_used"

        assert await ebok("einvoice-status", partner.number, "--json") == 0
        assert json.loads(capsys.readouterr().out)["state"] == "active"
        code = await ebok(
            "einvoice-withdraw", partner.number, "--by", "anna.b", "--reason", "phoned", "--json"
        )
        assert code == 0 and json.loads(capsys.readouterr().out)["state"] == "withdrawn"
        await smtpd.wait_for(3)
    async with store.begin() as uow:
        assert await uow.consents.active_for(partner.number) is None
        (record,) = await uow.consents.history(partner.number)
    assert record.withdrawn_channel == "staff"
