"""Service authentication: a bearer API key with the route's scope, or 401/403 problems."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from ebok.errors import LimitReached
from tests.api.conftest import Api

pytestmark = pytest.mark.asyncio(loop_scope="session")

PROBLEM = "application/problem+json"
SOME_ID = "0" * 32


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_health_needs_no_key_and_readiness_checks_both(api: Api) -> None:
    async with httpx.AsyncClient(base_url=api.url) as http:
        health = await http.get("/healthz")
        assert health.status_code == 200 and health.json() == {"status": "ok"}
        ready = await http.get("/readyz")
        assert ready.status_code == 200 and ready.json() == {"status": "ready"}


async def test_missing_wrong_and_revoked_keys_are_401(api: Api) -> None:
    async with httpx.AsyncClient(base_url=api.url) as http:
        missing = await http.get(f"/v1/registrations/{SOME_ID}")
        assert missing.status_code == 401
        assert missing.headers["content-type"] == PROBLEM
        assert missing.headers["www-authenticate"].startswith("Bearer")
        assert missing.json()["status"] == 401 and missing.json()["title"] == "Unauthorized"

        not_bearer = await http.get(
            f"/v1/registrations/{SOME_ID}", headers={"Authorization": "Basic dXNlcjpwYXNz"}
        )
        assert not_bearer.status_code == 401

        made = await api.keys.create(f"svc-{uuid.uuid4().hex[:8]}", ["registration"])
        key = made.secret
        wrong = await http.get(f"/v1/registrations/{SOME_ID}", headers=bearer(key + "x"))
        assert wrong.status_code == 401
        assert key not in wrong.text

        # The right key gets past authentication: the registration itself is unknown.
        right = await http.get(f"/v1/registrations/{SOME_ID}", headers=bearer(key))
        assert right.status_code == 404

        await api.keys.revoke(made.key.id)
        revoked = await http.get(f"/v1/registrations/{SOME_ID}", headers=bearer(key))
        assert revoked.status_code == 401
        assert revoked.json()["detail"] == "the API key is unknown or revoked"


async def test_a_key_without_the_scope_is_403(api: Api) -> None:
    key = await api.key("outages")
    async with httpx.AsyncClient(base_url=api.url, headers=bearer(key)) as http:
        refused = await http.get(f"/v1/registrations/{SOME_ID}")
        assert refused.status_code == 403
        assert refused.headers["content-type"] == PROBLEM
        assert "registration" in refused.json()["detail"]
        # Staff actions need the staff scope besides the process's own.
        staff = await http.post(
            "/v1/incidents/INC-1/close", json={"reason": "restored", "staff": "anna.b"}
        )
        assert staff.status_code == 403
        assert "staff" in staff.json()["detail"]


async def test_two_keys_per_service_for_rotation(api: Api) -> None:
    service = f"rotating-{uuid.uuid4().hex[:8]}"
    first = await api.keys.create(service, ["registration"])
    second = await api.keys.create(service, ["registration"])
    with pytest.raises(LimitReached):
        await api.keys.create(service, ["registration"])
    async with httpx.AsyncClient(base_url=api.url) as http:
        for made in (first, second):  # both in force at once
            answer = await http.get(f"/v1/registrations/{SOME_ID}", headers=bearer(made.secret))
            assert answer.status_code == 404
        await api.keys.revoke(first.key.id)
        old = await http.get(f"/v1/registrations/{SOME_ID}", headers=bearer(first.secret))
        new = await http.get(f"/v1/registrations/{SOME_ID}", headers=bearer(second.secret))
        assert (old.status_code, new.status_code) == (401, 404)
    third = await api.keys.create(service, ["registration"])  # room again
    assert third.key.service == service


async def test_rival_creates_leave_two_keys_in_force(api: Api) -> None:
    service = f"rivals-{uuid.uuid4().hex[:8]}"
    made = await asyncio.gather(
        *(api.keys.create(service, ["outages"]) for _ in range(10)), return_exceptions=True
    )
    assert sum(not isinstance(m, BaseException) for m in made) == 2
    assert all(isinstance(m, LimitReached) for m in made if isinstance(m, BaseException))
    in_force = [k for k in await api.keys.list() if k.service == service]
    assert len(in_force) == 2
