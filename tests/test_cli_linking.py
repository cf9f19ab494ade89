"""``ebok link``, ``link-status`` and ``link-decide`` against the dev server, SMTP and store."""

from __future__ import annotations

import json

import pytest
from temporalio.testing import WorkflowEnvironment

from adapters.operator.sandbox import SandboxOperator
from ebok.settings import Settings
from ebok.store.db import Store
from entrypoints.devsmtp import DevSmtpServer
from tests.conftest import worker_for
from tests.factories import a_partner, an_account
from tests.test_cli import clean_env, cli_env, ebok  # noqa: F401 (fixtures)


@pytest.mark.usefixtures("cli_env")
async def test_link_wrong_then_right_then_status(
    env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    partner = await a_partner(store)
    account, email = await an_account(store)
    invoice, gross = partner.invoices[0]
    operator = SandboxOperator(partner.registry)
    async with worker_for(env.client, settings, store, operator=operator):
        assert (
            await ebok("link", account, partner.number, "--invoice", invoice, "--gross", "1,00")
            == 3
        )
        assert "no_match" in capsys.readouterr().out
        assert await ebok("link", account, partner.number, "--ppe", "590380100001001379") == 2
        assert "ppe" in capsys.readouterr().err

        code = await ebok(
            "link", account, partner.number, "--invoice", invoice, "--gross", gross, "--json"
        )
        assert code == 0 and json.loads(capsys.readouterr().out)["outcome"] == "checking"
        await smtpd.wait_for(1)
        assert smtpd.messages[0]["To"] == email
    assert await ebok("link-status", "0" * 32) == 1  # no such process
    assert "no such partner linking process" in capsys.readouterr().err
