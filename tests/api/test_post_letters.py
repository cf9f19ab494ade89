"""Registered letters over the API: the partner's postal address, the post's signed webhook
(``POST /post/letters``, no API key: the signature is what is believed) and the staff's
``resend-notice`` refused while no letter waits to be posted."""

from __future__ import annotations

import json

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from adapters.post.sandbox import SandboxPost
from adapters.post.testing import sample_letter
from ebok.store.db import Store
from tests.api.conftest import Api
from tests.conftest import worker_for
from tests.factories import a_partner
from tests.workflows.invoices import an_invoice, delivered

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_postal_address_is_validated_and_kept(api: Api, store: Store) -> None:
    partner = await a_partner(store)
    path = f"/v1/partners/{partner.number}/postal-address"
    async with await api.client() as http:
        bad = await http.put(
            path, json={"name": "Jan", "street": "ul. Polna 3", "postal_code": "001", "city": "W"}
        )
        assert bad.status_code == 422 and "postal_code" in bad.text
        ok = await http.put(
            path,
            json={"name": "Jan", "street": "ul. Polna 3", "postal_code": "00-001", "city": "W"},
        )
        assert ok.status_code == 204, ok.text
    async with store.begin() as uow:
        found = await uow.letters.address_of(partner.number)
    assert found is not None and found.postal_code == "00-001"


async def test_letter_webhook_believes_only_signed_news(api: Api) -> None:
    post = SandboxPost.from_settings(api.settings)
    fate = await post.send_letter(sample_letter())  # posted elsewhere: not one of ours
    body, headers = post.deliver(fate.tracking_id, fate.posted_on)
    async with httpx.AsyncClient(base_url=api.url) as http:
        forged = await http.post("/post/letters", content=body.replace(b"posted", b"Posted"))
        assert forged.status_code == 401
        taken = await http.post("/post/letters", content=body, headers=headers)
    assert taken.status_code == 202, taken.text
    assert taken.json() == {"outcome": "not_ours", "invoice": None}


async def test_resend_notice_needs_a_letter_waiting(
    api: Api, env: WorkflowEnvironment, store: Store
) -> None:
    billed = await an_invoice(store, consent=False)
    invoice = json.loads(json.dumps(billed.invoice, default=str))
    http = await api.client()
    async with worker_for(env.client, api.settings, store), http:
        issued = await http.post("/v1/invoices", json=invoice)
        assert issued.status_code == 201, issued.text
        await delivered(env.client, billed.number)
        path = f"/v1/invoices/{billed.number}/resend-notice"
        refused = await http.post(path, json={"staff": "ewa.z"})
        assert refused.status_code == 409, refused.text  # no demand served yet
        await http.post(
            f"/v1/invoices/{billed.number}/cancel", json={"reason": "koniec testu", "staff": "ewa"}
        )
