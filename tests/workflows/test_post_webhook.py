"""The post's letter webhook (``POST /post/letters``) and ``ebok post …``, over real HTTP, with
an invoice workflow on the time-skipping server: a forged notification is refused and changes
nothing; the postman's signed one reaches the workflow as its ``letter`` signal."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
import pytest_asyncio
from aiohttp import web
from temporalio.testing import WorkflowEnvironment

from adapters.post.sandbox import SandboxPost
from ebok.models import invoice as m
from ebok.settings import Settings
from ebok.store.db import Store
from entrypoints.cli.main import main
from entrypoints.webhooks.post import add_letter_route
from facade.client import EbokClient
from tests.conftest import worker_for
from tests.workflows.invoices import an_invoice


@pytest_asyncio.fixture
async def receiver(ebok: EbokClient) -> AsyncIterator[str]:
    app = web.Application()
    add_letter_route(app, ebok)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    yield f"http://{host}:{port}/post/letters"
    await runner.cleanup()


async def test_forged_letter_news_is_refused_and_signed_news_counts(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    ebok: EbokClient,
    receiver: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    billed = await an_invoice(store, consent=False)
    post = SandboxPost.from_settings(settings)
    async with worker_for(skipping_env.client, settings, store):
        await ebok.set_postal_address(
            billed.partner.number, "Jan Klient", "ul. Polna 3", "00-001", "Warszawa"
        )
        await ebok.issue_invoice(billed.invoice)
        await skipping_env.sleep(timedelta(days=14 + 30, hours=2))
        status = await ebok.invoice_status(billed.number)
        tracking = status.letter_tracking_id
        assert tracking is not None
        posted = (await post.letter_status(tracking)).posted_on

        # The postman, from the command line: prints the notification it would send.
        monkeypatch.setenv("EBOK_POST_SANDBOX_DIR", str(settings.post_sandbox_dir))
        assert main(["post", "deliver", tracking, "--on", posted.isoformat(), "--print"]) == 0
        printed = json.loads(capsys.readouterr().out)
        body, headers = printed["body"].encode(), printed["headers"]

        forged = body.replace(posted.isoformat().encode(), b"2020-01-01", 1)
        async with httpx.AsyncClient() as http:
            refused = await http.post(receiver, content=forged, headers=headers)
            unsigned = await http.post(receiver, content=body)
            assert refused.status_code == unsigned.status_code == 401
            assert "signature" in refused.json()["message"]
            status = await ebok.invoice_status(billed.number)
            assert status.notice_received_on is None and status.earliest_suspension is None

            taken = await http.post(receiver, content=body, headers=headers)
        assert taken.status_code == 200 and taken.json()["invoice"] == billed.number
        status = await ebok.invoice_status(billed.number)
        assert status.letter_state is m.LetterState.DELIVERED
        assert status.notice_received_on == posted
        await ebok.cancel_invoice(billed.number, "koniec testu", "ewa.z")
