"""Registration over HTTP only: sign-up → credentials → activation with the token read from the
mail, on SQLite and PostgreSQL; the facade is not called by the test."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from ebok.store.db import Store
from entrypoints.devsmtp import DevSmtpServer
from tests.api.conftest import Api
from tests.conftest import worker_for
from tests.mailbox import activation_token

pytestmark = pytest.mark.asyncio(loop_scope="session")

PASSWORD = "Zielona-Łąka-2026!"
PROBLEM = "application/problem+json"


def unique(prefix: str) -> tuple[str, str]:
    tag = uuid.uuid4().hex[:10]
    return f"{prefix}.{tag}@example.pl", f"{prefix}.{tag}"


async def test_register_set_credentials_activate(
    api: Api, env: WorkflowEnvironment, store: Store, smtpd: DevSmtpServer
) -> None:
    email, login = unique("api")
    async with worker_for(env.client, api.settings, store), await api.client() as http:
        started = await http.post("/v1/registrations", json={"email": email, "login": login})
        assert started.status_code == 201, started.text
        rid = started.json()["registration_id"]
        assert len(rid) == 32

        shown = await http.get(f"/v1/registrations/{rid}")
        assert shown.status_code == 200
        assert shown.json()["status"] == "awaiting_password"

        creds = {"password": PASSWORD, "terms_version": "2026-01", "terms_accepted": True}
        pending = await http.put(f"/v1/registrations/{rid}/credentials", json=creds)
        assert pending.status_code == 200, pending.text
        assert pending.json()["link_number"] == 1
        assert PASSWORD not in pending.text
        (mail,) = await smtpd.wait_for(1)
        assert mail["To"] == email

        # Within the cooldown: 429 with Retry-After, as a problem saying when.
        again = await http.post(f"/v1/registrations/{rid}/resend", json={})
        assert again.status_code == 429
        assert again.headers["content-type"] == PROBLEM
        wait = int(again.headers["retry-after"])
        assert 150 <= wait <= 181
        retry_at = datetime.fromisoformat(again.json()["retry_at"])
        assert timedelta(seconds=150) < retry_at - datetime.now(UTC) <= timedelta(seconds=181)

        activated = await http.post("/v1/activations", json={"token": activation_token(mail)})
        assert activated.status_code == 200
        assert activated.json() == {"outcome": "activated"}
        await smtpd.wait_for(2)  # the welcome mail: the workflow has finished

        used = await http.post("/v1/activations", json={"token": activation_token(mail)})
        assert used.json() == {"outcome": "already_used"}
        bogus = await http.post("/v1/activations", json={"token": "not-a-token"})
        assert bogus.json() == {"outcome": "invalid"}


async def test_cancel_and_status(
    api: Api, env: WorkflowEnvironment, store: Store, smtpd: DevSmtpServer
) -> None:
    email, login = unique("cancel")
    async with worker_for(env.client, api.settings, store), await api.client() as http:
        started = await http.post("/v1/registrations", json={"email": email, "login": login})
        rid = started.json()["registration_id"]
        cancelled = await http.post(
            f"/v1/registrations/{rid}/cancel", json={"reason": "asked by phone"}
        )
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "cancelled"
        # Step 2 of a cancelled registration: its data is gone, so there is no such thing.
        creds = {"password": PASSWORD, "terms_version": "2026-01", "terms_accepted": True}
        late = await http.put(f"/v1/registrations/{rid}/credentials", json=creds)
        assert late.status_code in (404, 409)
        assert late.headers["content-type"] == PROBLEM
