"""The DSO's signed status webhook: a verified notification moves the incident; anything
unsigned or tampered with is answered 401 and changes nothing."""

from __future__ import annotations

import json
import socket
from dataclasses import replace
from datetime import timedelta

import httpx
from temporalio.testing import WorkflowEnvironment

from adapters.operator.base import IncidentState
from adapters.operator.http import HttpOperator
from adapters.operator.webhook import SIGNATURE_HEADER, encode_notification, sign
from ebok.models import outage as m
from ebok.settings import Settings
from ebok.store.db import Store
from entrypoints.devsmtp import DevSmtpServer
from entrypoints.webhooks.operator import run_webhook_server
from facade.client import EbokClient
from tests.conftest import worker_for
from tests.workflows.outage_world import World, an_area
from tests.workflows.test_outage import incident_of

SECRET = "webhook secret of the tests"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_signed_status_moves_the_incident_unsigned_does_not(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
) -> None:
    world = World(store)
    world.ebok = ebok = EbokClient(skipping_env.client, store, settings)
    world.simulation.on_status = None  # only the webhook tells this incident anything
    (point,) = await world.points(an_area())
    verifier = HttpOperator("http://127.0.0.1:9", webhook_secret=SECRET)
    port = _free_port()
    runner = await run_webhook_server(verifier.verify_status_notification, ebok, "127.0.0.1", port)
    url = f"http://127.0.0.1:{port}/operator/status"
    try:
        async with (
            worker_for(skipping_env.client, settings, store, operator=world.operator),
            httpx.AsyncClient() as http,
        ):
            accepted = await ebok.report_outage(point.ppe, "Brak prądu", email=point.email)
            incident = await incident_of(ebok, accepted.report_id)
            status = await world.simulation.acknowledge(incident.reference or "")
            later = replace(
                status,
                state=IncidentState.CREW_DISPATCHED,
                changed_at=status.changed_at + timedelta(minutes=1),
            )

            forged, _ = encode_notification(later, "a guess")
            bad = await http.post(url, content=forged, headers={SIGNATURE_HEADER: "sha256=00"})
            assert bad.status_code == 401
            signed, headers = encode_notification(later, SECRET)
            tampered = signed.replace(b"crew_dispatched", b"restored")
            bad = await http.post(url, content=tampered, headers=headers)
            assert bad.status_code == 401
            bad = await http.post(
                url, content=forged, headers={SIGNATURE_HEADER: sign(forged, "x")}
            )
            assert bad.status_code == 401

            body, headers = encode_notification(status, SECRET)
            ok = await http.post(url, content=body, headers=headers)
            assert ok.status_code == 200 and ok.json()["incident"] == incident.incident_id
            ok = await http.post(url, content=signed, headers=encode_notification(later, SECRET)[1])
            assert ok.status_code == 200
            stranger = replace(status, reference="SBX-I-NOT-OURS")
            body, headers = encode_notification(stranger, SECRET)
            ignored = await http.post(url, content=body, headers=headers)
            assert ignored.status_code == 202 and json.loads(ignored.text)["followed"] is False
            for _ in range(100):
                now = await ebok.incident_status(incident.incident_id)
                if now.phase is m.Phase.CREW_DISPATCHED:
                    break
                await skipping_env.sleep(timedelta(seconds=1))
    finally:
        await runner.cleanup()
        await verifier.aclose()
    assert now.phase is m.Phase.CREW_DISPATCHED and now.acknowledged_at is not None
