"""``ebok outage``, ``outage-status``, ``incident-status`` and ``incident`` against the dev
server, SMTP, the store and the sandbox DSO."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from ebok.settings import Settings
from ebok.store.db import Store
from entrypoints.devsmtp import DevSmtpServer
from facade.client import EbokClient
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


async def _incident(report_id: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """The report's incident once it has the DSO's reference."""
    for _ in range(200):
        assert await ebok("outage-status", report_id, "--json") == 0
        incident = json.loads(capsys.readouterr().out)["incident"]
        if incident and incident["reference"]:
            return dict(incident)
        await asyncio.sleep(0.05)
    raise AssertionError("the report never reached an incident with an operator id")


@pytest.mark.usefixtures("cli_env")
async def test_a_report_after_restoration_is_a_new_report(
    env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    world = World(store)
    world.ebok = EbokClient(env.client, store, settings)  # the DSO's pushes, as the webhook
    (point,) = await world.points(an_area(), linked=True)
    assert point.account is not None

    async def report(text: str) -> dict[str, Any]:
        argv = ("outage", point.ppe, "--description", text, "--account", point.account or "")
        assert await ebok(*argv, "--json") == 0
        return dict(json.loads(capsys.readouterr().out))

    async with worker_for(env.client, settings, store, operator=world.operator):
        first = await report("Brak prądu")
        assert first["duplicate"] is False and first["info_added"] is False
        again = await report("Nadal nic")  # the same failure, still open: added to it
        assert again == {"report_id": first["report_id"], "duplicate": True, "info_added": True}
        incident = await _incident(first["report_id"], capsys)
        await world.simulation.restore(str(incident["reference"]))
        await smtpd.wait_for(2)  # "received", then "power restored"
        assert str(smtpd.messages[-1]["Subject"]).startswith("Zasilanie przywrócone")

        argv = ("outage", point.ppe, "--description", "znowu", "--account", point.account)
        assert await ebok(*argv) == 0
        answer = capsys.readouterr().out
        assert re.search(r"^duplicate\s+False$", answer, re.M), answer
        assert re.search(r"^info_added\s+False$", answer, re.M), answer
        new_id = re.search(r"^report_id\s+(\S+)$", answer, re.M)
        assert new_id is not None and new_id[1] != first["report_id"]
        renewed = await _incident(new_id[1], capsys)
        await smtpd.wait_for(3)
        assert await ebok("outage-status", first["report_id"], "--json") == 0
        old = json.loads(capsys.readouterr().out)
    assert renewed["incident_id"] != incident["incident_id"]
    assert renewed["reports"] == 1 and renewed["phase"] == "reported"
    assert len(world.simulation.tickets) == 2  # a new ticket at the operator
    assert old["incident"]["phase"] == "restored"
    async with store.begin() as uow:
        kept = await uow.outages.report(new_id[1])
        notes = await uow.outages.notes(first["report_id"])
    assert kept is not None and kept.description == "znowu" and kept.closed_at is None
    assert notes == ["Nadal nic"]
    subjects = [str(m["Subject"]) for m in smtpd.messages]
    assert subjects[-1].startswith("Przyjęliśmy zgłoszenie awarii")
