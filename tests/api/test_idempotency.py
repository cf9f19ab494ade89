"""``Idempotency-Key``: retries with the same key and body make one effect and get one answer;
another body under the key is 409."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import func, select

from ebok.store.db import Store
from ebok.store.tables import registrations
from tests.api.conftest import Api

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def registrations_of(store: Store, login: str) -> int:
    async with store.begin() as uow:
        found = await uow.conn.execute(
            select(func.count()).select_from(registrations).where(registrations.c.login == login)
        )
        return int(found.scalar_one())


async def test_twenty_parallel_retries_make_one_registration(api: Api, store: Store) -> None:
    tag = uuid.uuid4().hex[:10]
    body = {"email": f"retry.{tag}@example.pl", "login": f"retry.{tag}"}
    key = {"Idempotency-Key": f"signup-{tag}"}
    async with await api.client("registration") as http:
        answers = await asyncio.gather(
            *(http.post("/v1/registrations", json=body, headers=key) for _ in range(20))
        )
        assert {a.status_code for a in answers} == {201}
        assert len({a.json()["registration_id"] for a in answers}) == 1
        replayed = [a for a in answers if a.headers.get("idempotent-replayed") == "true"]
        assert len(replayed) == 19
        assert await registrations_of(store, body["login"]) == 1

        later = await http.post("/v1/registrations", json=body, headers=key)
        assert later.json() == answers[0].json()

        other = {**body, "login": f"other.{tag}"}
        reused = await http.post("/v1/registrations", json=other, headers=key)
        assert reused.status_code == 409
        assert reused.json()["type"].endswith("/key-reused")
        assert await registrations_of(store, other["login"]) == 0

        # Without the header each call is its own: a second registration (an account, not a
        # registration under way, is what takes a login).
        fresh = await http.post("/v1/registrations", json=body)
        assert fresh.status_code == 201
        assert fresh.json() != answers[0].json()
        assert await registrations_of(store, body["login"]) == 2


async def test_keys_are_per_service_and_failures_are_not_kept(api: Api, store: Store) -> None:
    tag = uuid.uuid4().hex[:10]
    key = {"Idempotency-Key": f"k-{tag}"}
    bad = {"email": "not-an-address", "login": f"bad.{tag}"}
    good = {"email": f"ok.{tag}@example.pl", "login": f"ok.{tag}"}
    async with await api.client("registration") as one, await api.client("registration") as two:
        refused = await one.post("/v1/registrations", json=bad, headers=key)
        assert refused.status_code == 422
        # A 422 is kept: the same request under the key gets it again, replayed.
        again = await one.post("/v1/registrations", json=bad, headers=key)
        assert again.status_code == 422 and again.headers["idempotent-replayed"] == "true"
        # Another service's use of the same key is its own.
        made = await two.post("/v1/registrations", json=good, headers=key)
        assert made.status_code == 201 and "idempotent-replayed" not in made.headers
        odd = await one.post("/v1/registrations", json=good, headers={"Idempotency-Key": "a b"})
        assert odd.status_code == 400
    assert await registrations_of(store, good["login"]) == 1
