"""The customer account over HTTP: profile, e-mail change with undo and the staff's unlock,
RODO consents, billing's export. Plain HTTP calls against the served app."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qs, urlsplit

import pytest
from temporalio.testing import WorkflowEnvironment

from ebok.models.email_change import CONFIRM_PAGE, UNDO_PAGE
from ebok.store.db import Store
from entrypoints.devsmtp import DevSmtpServer
from tests.api.conftest import Api
from tests.api.test_processes import fields
from tests.conftest import worker_for
from tests.factories import a_linked_account
from tests.mailbox import addressed_to, body

pytestmark = pytest.mark.asyncio(loop_scope="session")


def token_in(text: str, page: str) -> str:
    link = next(w for w in text.split() if page in w)
    return parse_qs(urlsplit(link).query)["token"][0]


async def test_profile_consents_and_billing_export(api: Api, store: Store) -> None:
    account, _, partner = await a_linked_account(store)
    path = f"/v1/accounts/{account}"
    http = await api.client("account")
    async with http, await api.client("billing") as billing:
        await billing.post("/v1/billing-changes/exports")  # what other tests left
        bad = await http.patch(
            f"{path}/profile",
            json={
                "phone": "12",
                "address": {"street": "Prosta 1", "postal_code": "1-234", "city": "Warszawa"},
            },  # fmt: skip
        )
        assert bad.status_code == 422
        assert set(fields(bad.json())) == {"phone", "address.postal_code"}
        unknown = await http.patch(f"{path}/profile", json={"nickname": "x"})
        assert unknown.status_code == 422 and "nickname" in fields(unknown.json())
        address = {"street": "ul. Puławska 12", "postal_code": "02-512", "city": "Warszawa"}
        changed = await http.patch(
            f"{path}/profile", json={"phone": "+48 601 234 567", "address": address}
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["phone"] == "+48601234567"
        shown = await http.get(f"{path}/profile")
        assert shown.json()["address"] == address and shown.json()["language"] == "pl"
        assert (await http.get("/v1/accounts/" + "0" * 32 + "/profile")).status_code == 404

        exported = await billing.post("/v1/billing-changes/exports")
        batch = exported.json()
        assert [c["field"] for c in batch["changes"]] == ["phone", "address"]
        assert {c["partner_number"] for c in batch["changes"]} == {partner.number}
        again = await billing.post("/v1/billing-changes/exports")
        assert again.json() == {"batch": None, "changes": []}
        reprinted = await billing.get(f"/v1/billing-changes/exports/{batch['batch']}")
        assert reprinted.json() == batch
        for beyond in (0, -1, 2**31, 10**30):  # no such batch, whatever the column holds
            none = await billing.get(f"/v1/billing-changes/exports/{beyond}")
            assert none.status_code == 404, none.text
        assert (await http.post("/v1/billing-changes/exports")).status_code == 403

        text = "Zgoda na informacje handlowe przez telefon."
        given = await http.post(
            f"{path}/consents/marketing_phone", json={"version": "2026-01", "text": text}
        )
        assert given.status_code == 200 and given.json()["given"] is True
        odd = await http.post(f"{path}/consents/marketing_phone", json={"version": "2026-01"})
        assert odd.status_code == 422 and "text" in fields(odd.json())
        assert (await http.post(f"{path}/consents/spam", json={"version": "1"})).status_code == 422
        gone = await http.post(
            f"{path}/consents/marketing_phone/withdraw", json={"channel": "phone"}
        )
        assert gone.json()["given"] is False
        history = (await http.get(f"{path}/consents/history")).json()
        assert [(e["action"], e["channel"]) for e in history] == [
            ("given", "web"),
            ("withdrawn", "phone"),
        ]
        assert history[0]["text_sha256"] == hashlib.sha256(text.encode()).hexdigest()
        export = (await http.get(f"{path}/consents/export")).json()
        assert len(export["current"]) == 3 and export["history"] == history


async def test_email_change_confirm_undo_and_staff_unlock(
    api: Api, env: WorkflowEnvironment, store: Store, smtpd: DevSmtpServer
) -> None:
    account, old, _ = await a_linked_account(store)
    new = f"api.{account[:10]}@example.pl"
    path = f"/v1/accounts/{account}/email-change"
    http = await api.client("account")
    async with worker_for(env.client, api.settings, store), http:
        bad = await http.post(path, json={"new_email": "not an address"})
        assert bad.status_code == 422 and set(fields(bad.json())) == {"new_email"}
        pending = await http.post(path, json={"new_email": new})
        assert pending.status_code == 200, pending.text
        assert pending.json()["link_number"] == 1
        busy = await http.post(path, json={"new_email": "inny." + new})
        assert busy.status_code == 409
        (mail,) = await smtpd.wait_for(1)
        token = token_in(body(mail), CONFIRM_PAGE)
        confirmed = await http.post("/v1/email-change-confirmations", json={"token": token})
        assert confirmed.json() == {"outcome": "changed"}
        (told,) = addressed_to(await smtpd.wait_for(2), old)
        undone = await http.post(
            "/v1/email-change-undos", json={"token": token_in(body(told), UNDO_PAGE)}
        )
        assert undone.json() == {"outcome": "undone"}
        assert (await http.get(path)).json()["state"] == "locked"
        without_staff = await http.post(f"{path}/unlock", json={"staff": "anna.b"})
        assert without_staff.status_code == 403
        async with await api.client("account", "staff") as staff:
            unlocked = await staff.post(f"{path}/unlock", json={"staff": "anna.b", "reason": "ok"})
        assert unlocked.status_code == 200 and unlocked.json()["state"] == "unlocked"
        await smtpd.wait_for(4)
    async with await api.client("account") as http:
        profile = (await http.get(f"/v1/accounts/{account}/profile")).json()
    assert (profile["email"], profile["status"]) == (old, "active")
