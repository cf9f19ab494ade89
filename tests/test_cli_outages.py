"""``ebok outage``, ``outage-status``, ``incident-status`` and ``incident`` against the dev
server, SMTP, the store and the sandbox DSO."""

from __future__ import annotations

import asyncio
import json

import pytest
from temporalio.testing import WorkflowEnvironment

from ebok.settings import Settings
from ebok.store.db import Store
from entrypoints.devsmtp import DevSmtpServer
from tests.conftest import worker_for
from tests.test_cli import clean_env, cli_env, ebok  # noqa: F401 (fixtures)
from tests.workflows.outage_world import World, an_area


@pytest.mark.usefixtures("cli_env")
async def test_report_status_and_close_from_the_shell(
    env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    world = World(store)
    (point,) = await world.points(an_area())
    async with worker_for(env.client, settings, store, operator=world.operator):
        assert (
            await ebok(
                "outage", "590380100001001379", "--description", "x y z", "--email", point.email
            )
            == 2
        )
        assert "ppe" in capsys.readouterr().err
        code = await ebok(
            "outage", point.ppe, "--description", "Brak prądu", "--email", point.email, "--json"
        )
        assert code == 0
        report_id = json.loads(capsys.readouterr().out)["report_id"]
        incident: dict[str, object] | None = None
        for _ in range(100):
            assert await ebok("outage-status", report_id, "--json") == 0
            incident = json.loads(capsys.readouterr().out)["incident"]
            if incident and incident["reference"]:
                break
            await asyncio.sleep(0.1)
        assert incident is not None and incident["phase"] == "reported"
        incident_id = str(incident["incident_id"])
        assert (
            await ebok(
                "incident",
                incident_id,
                "close",
                "--reason",
                "bezpiecznik klienta",
                "--staff",
                "anna",
                "--json",
            )
            == 0
        )
        assert json.loads(capsys.readouterr().out)["phase"] == "closed"
        assert await ebok("incident-status", incident_id) == 0
        assert "closed" in capsys.readouterr().out
        await smtpd.wait_for(2)
    subjects = [str(m["Subject"]) for m in smtpd.messages]
    assert any(s.startswith("Zgłoszenie awarii zamknięte") for s in subjects)
