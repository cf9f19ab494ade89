"""The payment and DSO webhooks on the API's app: the same paths and signature checks as the
aiohttp receivers, and no API key (the signature is what is believed)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
import pytest
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment

from adapters.operator.base import IncidentState, IncidentStatus
from adapters.operator.webhook import SIGNATURE_HEADER, encode_notification
from adapters.payments.base import PaymentRequest
from adapters.payments.sandbox import SandboxPayments
from ebok.money import Money
from ebok.store.db import Store
from entrypoints.api.app import create_app
from facade.client import EbokClient
from tests.api.conftest import Api, serve

pytestmark = pytest.mark.asyncio(loop_scope="session")

SECRET = "webhook secret of the tests"


async def test_payment_notifications_are_believed_only_when_signed(api: Api) -> None:
    sandbox = SandboxPayments.from_settings(api.settings)
    try:
        made = await sandbox.create_payment(
            PaymentRequest(
                key=f"elsewhere-{uuid.uuid4().hex[:8]}",  # an order not made by the engine
                invoice_number="FV/2026/11/00000001",
                amount=Money(4200),
                description="made in the provider's panel",
                continue_url="https://ebok.test/",
                customer_ip="203.0.113.7",
            )
        )
        body, headers = await sandbox.complete(made.provider_ref)
    finally:
        await sandbox.aclose()
    async with httpx.AsyncClient(base_url=api.url) as http:
        other = await http.post("/payments/payu/notify", content=body, headers=headers)
        assert other.status_code == 404
        tampered = body.replace(b"4200", b"4300")
        forged = await http.post("/payments/sandbox/notify", content=tampered, headers=headers)
        assert forged.status_code == 400
        assert forged.headers["content-type"] == "application/problem+json"
        taken = await http.post("/payments/sandbox/notify", content=body, headers=headers)
        assert taken.status_code == 200, taken.text
        assert taken.json()["outcome"] == "unmatched"  # listed for staff to book by hand


async def test_dso_status_needs_the_signature(
    api: Api, env: WorkflowEnvironment, store: Store
) -> None:
    async with httpx.AsyncClient(base_url=api.url) as http:
        unset = await http.post("/operator/status", content=b"{}")
        assert unset.status_code == 404  # no secret configured: no receiver
    signed = api.settings.model_copy(update={"operator_webhook_secret": SecretStr(SECRET)})
    server, task, url = await serve(create_app(EbokClient(env.client, store, signed), signed))
    status = IncidentStatus(
        reference=f"DSO-{uuid.uuid4().hex[:10]}",
        state=IncidentState.CREW_DISPATCHED,
        changed_at=datetime.now(UTC),
    )
    try:
        async with httpx.AsyncClient(base_url=url) as http:
            body, headers = encode_notification(status, SECRET)
            guess = await http.post(
                "/operator/status", content=body, headers={SIGNATURE_HEADER: "sha256=00"}
            )
            assert guess.status_code == 401
            known = await http.post("/operator/status", content=body, headers=headers)
            assert known.status_code == 202  # verified, but no incident of ours follows it
            assert known.json() == {"followed": False, "incident": None}
    finally:
        server.should_exit = True
        await task
