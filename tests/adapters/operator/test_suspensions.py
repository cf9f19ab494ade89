"""Supply suspensions: the sandbox's kept state and faults, and the http adapter's wire."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio

from adapters.operator.base import (
    OperatorProtocolError,
    OperatorRejected,
    OperatorUnavailable,
)
from adapters.operator.http import SUSPENSIONS_PATH, HttpOperator
from adapters.operator.sandbox import SandboxOperator
from adapters.operator.simulation import DsoSimulation
from adapters.testing import PPE_TERMINATED, contract_rows, sample_suspension
from tests.adapters.operator.dso_server import DsoServer

TOKEN = "dso-test-token"
NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


def sandbox() -> SandboxOperator:
    return SandboxOperator(contract_rows(), simulation=DsoSimulation(clock=lambda: NOW))


# --- sandbox -------------------------------------------------------------------------------------


async def test_sandbox_keeps_filed_and_withdrawn_requests() -> None:
    operator = sandbox()
    kept, withdrawn = sample_suspension(), sample_suspension()
    await operator.request_suspension(kept)
    answer = await operator.request_suspension(withdrawn)
    await operator.withdraw_suspension(answer.reference)
    filed = operator.simulation.suspensions
    assert list(filed) == [kept.key, withdrawn.key]
    assert filed[kept.key].request == kept and filed[kept.key].filed_at == NOW
    assert filed[withdrawn.key].withdrawn_at == NOW
    assert [s.request for s in operator.simulation.active_suspensions()] == [kept]


async def test_sandbox_declines_a_terminated_contract() -> None:
    answer = await sandbox().request_suspension(sample_suspension(ppe=PPE_TERMINATED))
    assert answer.accepted is False and answer.reference


async def test_operators_over_one_simulation_share_requests_and_faults() -> None:
    simulation = DsoSimulation()
    worker_side = SandboxOperator(contract_rows(), simulation=simulation)
    test_side = SandboxOperator(contract_rows(), simulation=simulation)
    answer = await worker_side.request_suspension(sample_suspension())
    await test_side.withdraw_suspension(answer.reference)
    assert simulation.active_suspensions() == []
    test_side.down = True
    with pytest.raises(OperatorUnavailable, match="down"):
        await worker_side.request_suspension(sample_suspension())
    test_side.down = False
    assert (await worker_side.request_suspension(sample_suspension())).accepted


async def test_sandbox_failures_leave_nothing_filed() -> None:
    operator = sandbox()
    request = sample_suspension()
    operator.fail_next(1)
    with pytest.raises(OperatorUnavailable):
        await operator.request_suspension(request)
    assert operator.simulation.suspensions == {}
    assert (await operator.request_suspension(request)).accepted
    with pytest.raises(ValueError, match="failure_rate"):
        operator.failure_rate = 2.0
    with pytest.raises(ValueError, match="shared simulation"):
        SandboxOperator([], failure_rate=0.5, simulation=DsoSimulation())


async def test_sandbox_rejects_a_request_that_skipped_validation() -> None:
    forged = dataclasses.replace(sample_suspension())
    object.__setattr__(forged, "ppe", "590380100009000010")
    with pytest.raises(OperatorRejected, match="check digit"):
        await sandbox().request_suspension(forged)
    object.__setattr__(forged, "ppe", PPE_TERMINATED)
    object.__setattr__(forged, "key", "k" * 65)
    with pytest.raises(OperatorRejected, match="64"):
        await sandbox().request_suspension(forged)


def test_request_is_validated() -> None:
    with pytest.raises(ValueError, match="key"):
        sample_suspension(key="")
    with pytest.raises(ValueError, match="key"):
        sample_suspension(key="k" * 65)
    with pytest.raises(ValueError, match="not_before must come after"):
        sample_suspension(not_before=datetime(2026, 3, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match="timezone-aware"):
        sample_suspension(notice_served_at=datetime(2026, 3, 1), not_before=datetime(2026, 4, 1))


# --- http ----------------------------------------------------------------------------------------


@pytest_asyncio.fixture
async def dso() -> AsyncIterator[DsoServer]:
    async with DsoServer(contract_rows(), token=TOKEN) as server:
        yield server


@pytest_asyncio.fixture
async def client(dso: DsoServer) -> AsyncIterator[HttpOperator]:
    operator = HttpOperator(dso.url, token=TOKEN, timeout=timedelta(seconds=2))
    yield operator
    await operator.aclose()


async def test_http_sends_the_documented_request(dso: DsoServer, client: HttpOperator) -> None:
    served = datetime(2026, 3, 2, 10, 30, tzinfo=UTC).astimezone()  # any zone goes out as UTC
    request = sample_suspension(notice_served_at=served, not_before=served + timedelta(days=14))
    answer = await client.request_suspension(request)
    assert answer.accepted and answer.key == request.key
    seen = dso.requests[-1]
    assert (seen.method, seen.path) == ("POST", SUSPENSIONS_PATH)
    assert seen.headers["Idempotency-Key"] == request.key
    assert seen.headers["Authorization"] == f"Bearer {TOKEN}"
    assert seen.json() == {
        "key": request.key,
        "ppe": request.ppe,
        "invoice_number": "FV/2026/01/000123",
        "notice_served_at": "2026-03-02T10:30:00Z",
        "not_before": "2026-03-16T10:30:00Z",
    }
    assert dso.registry.simulation.suspensions[request.key].request == request


async def test_http_retry_gets_the_same_reference(dso: DsoServer, client: HttpOperator) -> None:
    request = sample_suspension()
    first = await client.request_suspension(request)
    dso.respond_next(
        status=200, body={"reference": first.reference, "key": request.key, "accepted": True}
    )
    assert await client.request_suspension(request) == first
    assert await client.request_suspension(request) == first  # the server's own 200


async def test_http_withdrawal_escapes_the_reference(dso: DsoServer, client: HttpOperator) -> None:
    answer = await client.request_suspension(sample_suspension())
    await client.withdraw_suspension(answer.reference)
    await client.withdraw_suspension(answer.reference)
    assert dso.requests[-1].path == f"{SUSPENSIONS_PATH}/{answer.reference}/withdrawal"
    dso.respond_next(status=204)
    await client.withdraw_suspension("STO/2026 7?x")
    assert dso.requests[-1].path == f"{SUSPENSIONS_PATH}/STO/2026 7?x/withdrawal"  # decoded
    with pytest.raises(ValueError, match="reference"):
        await client.withdraw_suspension(" ")


@pytest.mark.parametrize(
    ("status", "error"),
    [(400, OperatorRejected), (404, OperatorRejected), (422, OperatorRejected)]
    + [(429, OperatorUnavailable), (500, OperatorUnavailable), (503, OperatorUnavailable)],
)
async def test_http_status_mapping(
    dso: DsoServer, client: HttpOperator, status: int, error: type[Exception]
) -> None:
    dso.fail_next(2, status)
    with pytest.raises(error, match=str(status)):
        await client.request_suspension(sample_suspension())
    with pytest.raises(error, match=str(status)):
        await client.withdraw_suspension("SBX-S-1")


async def test_http_unknown_withdrawal_is_a_404(client: HttpOperator) -> None:
    with pytest.raises(OperatorRejected) as info:
        await client.withdraw_suspension("SBX-S-NOPE")
    assert info.value.status_code == 404


async def test_http_timeout_is_unavailable(dso: DsoServer) -> None:
    dso.delay = timedelta(seconds=2)
    operator = HttpOperator(dso.url, token=TOKEN, timeout=timedelta(milliseconds=200))
    try:
        with pytest.raises(OperatorUnavailable, match="did not answer"):
            await operator.request_suspension(sample_suspension())
        with pytest.raises(OperatorUnavailable, match="did not answer"):
            await operator.withdraw_suspension("SBX-S-1")
    finally:
        await operator.aclose()


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("[]", "not a JSON object"),
        ('{"reference": "R", "accepted": true}', "missing key"),
        ('{"reference": "R", "key": "other", "accepted": true}', "another key"),
        ('{"reference": "", "key": "K", "accepted": true}', "reference must not be empty"),
        ('{"reference": "R", "key": "K", "accepted": "yes"}', "accepted is not true or false"),
    ],
)
async def test_http_malformed_answer_is_a_protocol_error(
    dso: DsoServer, client: HttpOperator, body: str, problem: str
) -> None:
    request = sample_suspension(key="K")
    dso.respond_next(status=201, body=body)
    with pytest.raises(OperatorProtocolError, match=problem):
        await client.request_suspension(request)


async def test_http_rejects_a_key_too_long_for_the_header(client: HttpOperator) -> None:
    forged = sample_suspension()
    object.__setattr__(forged, "key", "k" * 65)
    with pytest.raises(OperatorRejected, match="64"):
        await client.request_suspension(forged)
