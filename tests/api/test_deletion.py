"""Account deletion and the data export over HTTP: request, confirm by the mailed link,
status, cancel by sign-in, staff stop (scope ``staff``), the export; the scope ``account``."""

from __future__ import annotations

import pytest
from temporalio.testing import WorkflowEnvironment

from ebok.models.deletion import CONFIRM_PAGE
from ebok.store.db import Store
from entrypoints.devsmtp import DevSmtpServer
from tests.api.conftest import Api
from tests.conftest import worker_for
from tests.factories import a_linked_account
from tests.mailbox import link_token

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_request_confirm_sign_in_and_export(
    api: Api, env: WorkflowEnvironment, store: Store, smtpd: DevSmtpServer
) -> None:
    account, email, partner = await a_linked_account(store)
    other, other_email, _ = await a_linked_account(store)
    http = await api.client("account")
    staffless = http
    wrong = await api.client("einvoice")
    path = f"/v1/accounts/{account}/deletion"
    async with worker_for(env.client, api.settings, store), http, wrong:
        assert (await wrong.post(path, json={})).status_code == 403
        bad = await http.post("/v1/accounts/NOT-AN-ID/deletion", json={})
        assert bad.status_code == 422
        assert [e["field"] for e in bad.json()["errors"]] == ["account_id"]
        bad = await http.post(path, json={"channel": "fax"})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "channel"

        asked = await http.post(path, json={})
        assert asked.status_code == 200, asked.text
        assert asked.json()["link_number"] == 1
        too_soon = await http.post(path + "/resend", json={})
        assert too_soon.status_code == 429
        (mail,) = await smtpd.wait_for(1)
        token = link_token(mail, CONFIRM_PAGE)
        confirmed = await http.post("/v1/deletion-confirmations", json={"token": token})
        assert confirmed.json()["outcome"] == "scheduled" and confirmed.json()["erase_at"]
        assert (await http.get(path)).json()["state"] == "scheduled"

        refused = await staffless.post(path + "/stop", json={"staff": "anna.b", "reason": "x"})
        assert refused.status_code == 403  # staff stop needs the staff scope too
        signed_in = await http.post(path + "/sign-in")
        assert signed_in.json() == {"cancelled": True}
        assert (await http.post(path + "/sign-in")).json() == {"cancelled": False}
        shown = (await http.get(path)).json()
        assert shown["state"] == "cancelled" and shown["cancelled_by"] == "sign_in"
        # Nothing to cancel: 409 while the cancelled run finishes, 404 once it has closed.
        late = await http.post(path + "/cancel", json={})
        assert late.status_code in (404, 409)
        assert late.headers["content-type"] == "application/problem+json"

        exported = await http.get(f"/v1/accounts/{account}/data-export")
        assert exported.status_code == 200
        data = exported.json()
        assert data["sections"]["profile"][0]["email"] == email
        assert data["sections"]["partner_links"][0]["partner_number"] == partner.number
        assert other not in exported.text and other_email not in exported.text
        missing = await http.get("/v1/accounts/0123456789abcdef0123456789abcdef/data-export")
        assert missing.status_code == 404


async def test_staff_stop(
    api: Api, env: WorkflowEnvironment, store: Store, smtpd: DevSmtpServer
) -> None:
    account, _, _ = await a_linked_account(store)
    http = await api.client("account", "staff")
    path = f"/v1/accounts/{account}/deletion"
    async with worker_for(env.client, api.settings, store), http:
        assert (await http.post(path, json={})).status_code == 200
        stopped = await http.post(path + "/stop", json={"staff": "anna.b", "reason": "phoned"})
        assert stopped.status_code == 200, stopped.text
        assert stopped.json()["cancelled_by"] == "staff" and "anna.b" in stopped.json()["detail"]
