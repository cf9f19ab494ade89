"""HttpOperator against a real local DSO server (tests/adapters/operator/dso_server.py)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
import pytest_asyncio

from adapters.operator.base import (
    ContractQuery,
    ContractStatus,
    OperatorProtocolError,
    OperatorRejected,
    OperatorUnavailable,
)
from adapters.operator.http import HttpOperator, idempotency_key
from adapters.testing import GridOperatorContract, contract_rows
from ebok.settings import Settings
from tests.adapters.operator.dso_server import DsoServer

TOKEN = "dso-test-token"
PPE, NIP = "590380100009000014", "1234563218"
QUERY = ContractQuery(PPE, NIP)
GOOD = {"ppe": PPE, "status": "confirmed", "contract_type": "distribution", "reference": "R-1"}


@pytest_asyncio.fixture
async def dso() -> AsyncIterator[DsoServer]:
    async with DsoServer(contract_rows(), token=TOKEN) as server:
        yield server


@pytest_asyncio.fixture
async def client(dso: DsoServer) -> AsyncIterator[HttpOperator]:
    operator = HttpOperator(dso.url, token=TOKEN, timeout=timedelta(seconds=2))
    yield operator
    await operator.aclose()


class TestHttpOperatorContract(GridOperatorContract):
    @pytest_asyncio.fixture
    async def operator(self, client: HttpOperator) -> HttpOperator:
        return client


async def test_sends_bearer_token_idempotency_key_and_json(
    dso: DsoServer, client: HttpOperator
) -> None:
    await client.check_distribution_contract(QUERY)
    await client.check_distribution_contract(ContractQuery(f"{PPE[:9]} {PPE[9:]}", NIP))
    first, second = dso.requests
    assert first.headers["Authorization"] == f"Bearer {TOKEN}"
    assert first.headers["Content-Type"] == "application/json"
    assert first.json() == {"ppe": PPE, "holder_id": NIP}
    key = first.headers["Idempotency-Key"]
    assert key == second.headers["Idempotency-Key"] == idempotency_key(QUERY, TOKEN)
    assert NIP not in key and len(key) <= 64
    other = idempotency_key(ContractQuery(PPE, "80010112340"), TOKEN)
    assert other != key and idempotency_key(QUERY, "another token") != key


async def test_503_is_unavailable_then_recovers(dso: DsoServer, client: HttpOperator) -> None:
    dso.fail_next(1, 503)
    with pytest.raises(OperatorUnavailable, match="503") as info:
        await client.check_distribution_contract(QUERY)
    assert type(info.value) is OperatorUnavailable and info.value.retry_after is None
    assert (await client.check_distribution_contract(QUERY)).status is ContractStatus.CONFIRMED


@pytest.mark.parametrize("status", [500, 502, 408, 409])
async def test_other_transient_statuses(dso: DsoServer, client: HttpOperator, status: int) -> None:
    dso.fail_next(1, status)
    with pytest.raises(OperatorUnavailable) as info:
        await client.check_distribution_contract(QUERY)
    assert type(info.value) is OperatorUnavailable


async def test_429_retry_after_seconds_and_date(dso: DsoServer, client: HttpOperator) -> None:
    dso.fail_next(1, 429, retry_after="17")
    with pytest.raises(OperatorUnavailable, match="429") as seconds:
        await client.check_distribution_contract(QUERY)
    assert seconds.value.retry_after == 17.0
    later = datetime.now(UTC) + timedelta(seconds=120)
    dso.fail_next(1, 503, retry_after=format_datetime(later, usegmt=True))
    with pytest.raises(OperatorUnavailable) as date:
        await client.check_distribution_contract(QUERY)
    assert date.value.retry_after is not None and 100 < date.value.retry_after <= 120
    dso.fail_next(1, 503, retry_after="soon")
    with pytest.raises(OperatorUnavailable) as unreadable:
        await client.check_distribution_contract(QUERY)
    assert unreadable.value.retry_after is None


async def test_wrong_token_is_rejected_with_the_servers_message(dso: DsoServer) -> None:
    operator = HttpOperator(dso.url, token="wrong")
    try:
        with pytest.raises(OperatorRejected, match="401: invalid or missing bearer token") as info:
            await operator.check_distribution_contract(QUERY)
        assert info.value.status_code == 401
    finally:
        await operator.aclose()


@pytest.mark.parametrize("status", [400, 403, 404, 422])
async def test_client_errors_are_rejected(
    dso: DsoServer, client: HttpOperator, status: int
) -> None:
    dso.respond_next(status=status, body={"message": "ppe: check digit is wrong"})
    with pytest.raises(OperatorRejected, match=f"{status}: ppe: check digit") as info:
        await client.check_distribution_contract(QUERY)
    assert info.value.status_code == status


async def test_wrong_path_prefix_is_rejected(dso: DsoServer) -> None:
    operator = HttpOperator(f"{dso.url}/nowhere/")
    try:
        with pytest.raises(OperatorRejected, match="404"):
            await operator.check_distribution_contract(QUERY)
    finally:
        await operator.aclose()


async def test_timeout_is_unavailable(dso: DsoServer) -> None:
    dso.delay = timedelta(seconds=2)
    operator = HttpOperator(dso.url, token=TOKEN, timeout=timedelta(milliseconds=200))
    try:
        with pytest.raises(OperatorUnavailable, match="did not answer within"):
            await operator.check_distribution_contract(QUERY)
    finally:
        await operator.aclose()


async def test_connection_refused_is_unavailable(dso: DsoServer) -> None:
    url = dso.url
    await dso.__aexit__(None, None, None)  # nothing listens on that port any more
    operator = HttpOperator(url, timeout=timedelta(seconds=1))
    try:
        with pytest.raises(OperatorUnavailable, match="unreachable"):
            await operator.check_distribution_contract(QUERY)
    finally:
        await operator.aclose()


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("{not json", "not JSON"),
        ([GOOD], "not a JSON object"),
        ({k: v for k, v in GOOD.items() if k != "reference"}, "missing reference"),
        (GOOD | {"ppe": "590380100009000021"}, "another PPE"),
        (GOOD | {"status": "probably"}, "unknown status"),
        (GOOD | {"status": ["confirmed"]}, "unknown status"),
        (GOOD | {"contract_type": "retail"}, "unknown contract_type"),
        (GOOD | {"contract_type": "comprehensive"}, "confirmed"),
        (GOOD | {"reference": 7}, "reference is not a string"),
        (GOOD | {"reference": " "}, "reference must not be empty"),
    ],
)
async def test_malformed_answer_is_a_protocol_error(
    dso: DsoServer, client: HttpOperator, body: Any, problem: str
) -> None:
    raw = body if isinstance(body, str) else json.dumps(body)
    dso.respond_next(body=raw)
    with pytest.raises(OperatorProtocolError, match=problem) as info:
        await client.check_distribution_contract(QUERY)
    assert isinstance(info.value, OperatorUnavailable)  # so it is retried


async def test_unexpected_status_is_a_protocol_error(dso: DsoServer, client: HttpOperator) -> None:
    dso.respond_next(status=302, headers={"Location": "http://example.com/"})
    with pytest.raises(OperatorProtocolError, match="302"):
        await client.check_distribution_contract(QUERY)


async def test_extra_fields_are_ignored(dso: DsoServer, client: HttpOperator) -> None:
    dso.respond_next(body=GOOD | {"valid_from": "2024-01-01"})
    answer = await client.check_distribution_contract(QUERY)
    assert (answer.status, answer.reference) == (ContractStatus.CONFIRMED, "R-1")


async def test_closed_client_is_not_reused(client: HttpOperator) -> None:
    await client.aclose()
    await client.aclose()  # twice is harmless
    with pytest.raises(RuntimeError, match="closed"):
        await client.check_distribution_contract(QUERY)


def test_from_settings() -> None:
    with pytest.raises(ValueError, match="EBOK_OPERATOR_URL"):
        HttpOperator.from_settings(Settings())
    settings = Settings(
        operator_url="https://dso.example.pl/api/",
        operator_token=TOKEN,
        operator_timeout=timedelta(seconds=3),
    )
    operator = HttpOperator.from_settings(settings)
    assert operator.url == "https://dso.example.pl/api/v1/distribution-contracts/check"
    assert operator.timeout == timedelta(seconds=3)
    assert TOKEN not in repr(operator)
