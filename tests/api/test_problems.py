"""Errors are RFC 9457 problems: validation names each field with the facade's message, unknown
ids are 404, and no body carries a stack trace or the rejected input."""

from __future__ import annotations

import pytest

from ebok.errors import InvalidInput
from ebok.models.registration import SignUp
from facade.base import validate
from tests.api.conftest import Api

pytestmark = pytest.mark.asyncio(loop_scope="session")

PROBLEM = "application/problem+json"


def fields(answer: dict[str, object]) -> dict[str, str]:
    errors = answer["errors"]
    assert isinstance(errors, list)
    return {e["field"]: e["message"] for e in errors}


def facade_says(**given: str) -> dict[str, str]:
    with pytest.raises(InvalidInput) as e:
        validate(SignUp, **given)
    return e.value.errors


async def test_validation_problems_name_the_fields(api: Api) -> None:
    async with await api.client("registration") as http:
        bad = await http.post("/v1/registrations", json={"email": "not-an-address", "login": "x"})
        assert bad.status_code == 422
        assert bad.headers["content-type"] == PROBLEM
        body = bad.json()
        assert body["type"].endswith("/invalid-input") and body["status"] == 422
        # The very messages the facade (and so the CLI) gives.
        assert fields(body) == facade_says(email="not-an-address", login="x")
        assert "not-an-address" not in bad.text

        missing = await http.post("/v1/registrations", json={"email": "jan@example.pl"})
        assert fields(missing.json()) == {"login": "Field required"}

        malformed = await http.post(
            "/v1/registrations",
            content=b"{not json",
            headers={"Content-Type": "application/json"},
        )
        assert malformed.status_code == 400
        assert malformed.headers["content-type"] == PROBLEM

        # A rule only the facade knows (the id's shape) is a field problem too.
        odd = await http.get("/v1/registrations/NOT-AN-ID")
        assert odd.status_code == 422
        assert list(fields(odd.json())) == ["registration_id"]


async def test_a_weak_password_is_named_and_never_echoed(api: Api) -> None:
    async with await api.client("registration") as http:
        started = await http.post(
            "/v1/registrations", json={"email": "weak.api@example.pl", "login": "weak.api.x"}
        )
        assert started.status_code == 201
        rid = started.json()["registration_id"]
        creds = {"password": "Qz7!xk", "terms_version": "2026-01", "terms_accepted": True}
        weak = await http.put(f"/v1/registrations/{rid}/credentials", json=creds)
        assert weak.status_code == 422
        assert list(fields(weak.json())) == ["password"]
        assert "Qz7!xk" not in weak.text
        terms = {**creds, "password": "Zielona-Łąka-2026!", "terms_version": "1999-01"}
        old_terms = await http.put(f"/v1/registrations/{rid}/credentials", json=terms)
        assert list(fields(old_terms.json())) == ["terms_version"]


async def test_unknown_ids_and_routes_are_404_problems(api: Api) -> None:
    async with await api.client() as http:
        for path in (
            "/v1/registrations/" + "0" * 32,
            "/v1/accounts/" + "0" * 32 + "/partner-link",
            "/v1/no-such-thing",
        ):
            answer = await http.get(path)
            assert answer.status_code == 404, path
            assert answer.headers["content-type"] == PROBLEM
            assert answer.json()["status"] == 404
            assert "Traceback" not in answer.text


async def test_staff_actions_on_unknown_processes(api: Api) -> None:
    async with await api.client("outages", "staff", "linking", "invoices") as http:
        act = {"reason": "restored by the crew", "staff": "anna.b"}
        unknown = await http.post("/v1/incidents/incident-nope-1/close", json=act)
        assert unknown.status_code == 404, unknown.text
        assert "no such" in unknown.json()["detail"]
        odd = await http.post("/v1/incidents/NOPE/close", json=act)
        assert odd.status_code == 422 and list(fields(odd.json())) == ["incident_id"]
        short = await http.post("/v1/incidents/incident-nope-1/close", json={**act, "reason": "x"})
        assert short.status_code == 422 and list(fields(short.json())) == ["reason"]
        approve = await http.post("/v1/accounts/" + "0" * 32 + "/partner-link/approve", json=act)
        assert approve.status_code == 404
        waive = await http.post("/v1/invoices/FV/2026/01/404/waive-reminder", json=act)
        assert waive.status_code == 404
