"""Sign-in and password reset over HTTP only (the token read from the mail), on SQLite and
PostgreSQL: answers, scopes, problems naming the field."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select
from temporalio.testing import WorkflowEnvironment

from ebok.store.db import Store
from ebok.store.tables import idempotency_keys
from entrypoints.devsmtp import DevSmtpServer
from tests.account.helpers import NEW_PASSWORD, PASSWORD, an_account_with_password, an_ip
from tests.api.conftest import Api
from tests.conftest import worker_for
from tests.mailbox import link_token

pytestmark = pytest.mark.asyncio(loop_scope="session")

PROBLEM = "application/problem+json"


async def test_sign_in_session_and_reset_over_http(
    api: Api, env: WorkflowEnvironment, store: Store, smtpd: DevSmtpServer
) -> None:
    account_id, email, login = await an_account_with_password(store)
    async with worker_for(env.client, api.settings, store), await api.client("account") as http:
        body = {"login_or_email": login, "password": PASSWORD, "client_ip": an_ip()}
        signed = await http.post("/v1/sign-ins", json=body)
        assert signed.status_code == 200, signed.text
        assert signed.json() == {
            "outcome": "signed_in",
            "account_id": account_id,
            "generation": 1,
            "linked": False,
            "retry_at": None,
        }
        wrong = await http.post("/v1/sign-ins", json=body | {"password": "nope-nope"})
        ghost = await http.post("/v1/sign-ins", json=body | {"login_or_email": "ghost." + login})
        assert wrong.status_code == ghost.status_code == 200
        assert (
            wrong.json()
            == ghost.json()
            == {
                "outcome": "refused",
                "account_id": None,
                "generation": None,
                "linked": None,
                "retry_at": None,
            }
        )
        session = f"/v1/accounts/{account_id}/sessions/1"
        assert (await http.get(session)).json() == {"valid": True}

        for address in (email, "nobody." + email):  # the same answer for both
            asked = await http.post("/v1/password-resets", json={"email": address})
            assert asked.status_code == 202 and asked.json() == {"status": "accepted"}
        (mail,) = await smtpd.wait_for(1)
        token = link_token(mail, "nowe-haslo")

        weak = await http.post(
            "/v1/password-reset-confirmations", json={"token": token, "password": "short"}
        )
        assert weak.status_code == 422 and weak.headers["content-type"] == PROBLEM
        assert [e["field"] for e in weak.json()["errors"]] == ["password"]
        assert "short" not in weak.text

        shown = await http.get(f"/v1/accounts/{account_id}/password-reset")
        assert shown.status_code == 200 and shown.json()["state"] == "awaiting_new_password"

        done = await http.post(
            "/v1/password-reset-confirmations", json={"token": token, "password": NEW_PASSWORD}
        )
        assert done.status_code == 200 and done.json() == {"outcome": "changed"}
        assert NEW_PASSWORD not in done.text
        assert (await http.get(session)).json() == {"valid": False}
        await smtpd.wait_for(2)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"login_or_email": "jan\r\nX: y", "password": PASSWORD, "client_ip": "192.0.2.1"},
            "login_or_email",
        ),
        ({"login_or_email": "jan", "password": PASSWORD, "client_ip": "nowhere"}, "client_ip"),
        ({"login_or_email": "jan", "password": "", "client_ip": "192.0.2.1"}, "password"),
        ({"login_or_email": "jan", "client_ip": "192.0.2.1"}, "password"),
    ],
)
async def test_bad_sign_in_is_a_problem_naming_the_field(
    api: Api, body: dict[str, str], field: str
) -> None:
    async with await api.client("account") as http:
        answer = await http.post("/v1/sign-ins", json=body)
    assert answer.status_code == 422 and answer.headers["content-type"] == PROBLEM
    assert [e["field"] for e in answer.json()["errors"]] == [field]
    assert PASSWORD not in answer.text


async def test_scopes(api: Api, store: Store) -> None:
    account_id, _, _ = await an_account_with_password(store)
    async with await api.client("registration") as other:
        refused = await other.post(
            "/v1/sign-ins", json={"login_or_email": "a", "password": "b", "client_ip": "192.0.2.1"}
        )
        assert refused.status_code == 403
    async with await api.client("account") as portal:
        assert (await portal.post(f"/v1/accounts/{account_id}/password-reset")).status_code == 403
        bad_generation = await portal.get(f"/v1/accounts/{account_id}/sessions/0")
        assert bad_generation.status_code == 422
        assert [e["field"] for e in bad_generation.json()["errors"]] == ["generation"]


async def test_no_body_with_a_password_is_kept_for_idempotency(api: Api, store: Store) -> None:
    _, _, login = await an_account_with_password(store)
    key = await api.key("account", service="portal-idem-" + login[-10:])
    body = {"login_or_email": login, "password": PASSWORD, "client_ip": an_ip()}
    async with httpx.AsyncClient(base_url=api.url, timeout=30) as http:
        headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": "sign-in-1"}
        first = await http.post("/v1/sign-ins", json=body, headers=headers)
        second = await http.post("/v1/sign-ins", json=body | {"password": "x"}, headers=headers)
    assert first.json()["outcome"] == "signed_in" and second.json()["outcome"] == "refused"
    assert "idempotent-replayed" not in second.headers
    async with store.begin() as uow:
        kept = await uow.conn.execute(
            select(func.count())
            .select_from(idempotency_keys)
            .where(idempotency_keys.c.service == "portal-idem-" + login[-10:])
        )
        assert kept.scalar_one() == 0


async def test_staff_start_a_reset(
    api: Api, env: WorkflowEnvironment, store: Store, smtpd: DevSmtpServer
) -> None:
    account_id, email, _ = await an_account_with_password(store)
    async with (
        worker_for(env.client, api.settings, store),
        await api.client("account", "staff") as http,
    ):
        started = await http.post(f"/v1/accounts/{account_id}/password-reset")
        assert started.status_code == 200, started.text
        assert started.json()["link_number"] == 1
        (mail,) = await smtpd.wait_for(1)
        assert mail["To"] == email
        again = await http.post(f"/v1/accounts/{account_id}/password-reset")
        assert again.status_code == 429 and int(again.headers["retry-after"]) > 100
        unknown = await http.post(f"/v1/accounts/{'0' * 32}/password-reset")
        assert unknown.status_code == 404
