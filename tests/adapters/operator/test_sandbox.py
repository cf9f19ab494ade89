"""SandboxOperator: the contract, failure injection, latency, and the CSV registry."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from adapters import registry
from adapters.operator.base import (
    ContractAnswer,
    ContractQuery,
    ContractStatus,
    ContractType,
    OperatorError,
    OperatorRejected,
    OperatorUnavailable,
)
from adapters.operator.http import HttpOperator
from adapters.operator.sandbox import (
    RegistryError,
    RegistryRow,
    RowStatus,
    SandboxOperator,
    load_registry,
    parse_registry,
)
from adapters.testing import GridOperatorContract, contract_rows
from ebok.ids import InvalidIdentifier
from ebok.settings import Settings

HEADER = "ppe,holder_id,contract_type,status\n"
PPE, NIP = "590380100009000014", "1234563218"
QUERY = ContractQuery(PPE, NIP)


class TestSandboxOperatorContract(GridOperatorContract):
    @pytest.fixture
    def operator(self) -> SandboxOperator:
        return SandboxOperator(contract_rows())


def test_operator_adapters_are_registered() -> None:
    assert {"sandbox", "http"} <= set(registry.names("operator"))
    assert registry.load("operator", "sandbox") is SandboxOperator
    assert registry.load("operator", "http") is HttpOperator


# The bundled registry, as documented in its header comment: the demo partners' outcomes.
@pytest.mark.parametrize(
    ("ppe", "holder", "status", "contract_type"),
    [
        ("590380100001001378", "80051412344", "confirmed", "distribution"),
        ("590380100001002740", "75110256786", "no_contract", "comprehensive"),
        ("590380100001004119", "92033043215", "confirmed", "distribution"),
        ("590380100001005482", "92033043215", "confirmed", "distribution"),
        ("590380100001006854", "5260181596", "confirmed", "distribution"),
        ("590380100001008223", "68082187653", "confirmed", "distribution"),
        ("590380100001008223", "63031504563", "other_party", None),
        ("590380100001009596", "88010924682", "other_party", None),
        ("590380100001000043", "75063004562", "no_contract", "distribution"),
        ("590380100001999996", "80051412344", "unknown_ppe", None),
    ],
)
async def test_bundled_registry(
    ppe: str, holder: str, status: str, contract_type: str | None
) -> None:
    operator = registry.build("operator", "sandbox", Settings())
    answer = await operator.check_distribution_contract(ContractQuery(ppe, holder))
    assert (answer.status, answer.contract_type) == (status, contract_type)
    await operator.aclose()


async def test_fail_next_then_answers() -> None:
    operator = SandboxOperator(contract_rows())
    operator.fail_next(2)
    for _ in range(2):
        with pytest.raises(OperatorUnavailable) as info:
            await operator.check_distribution_contract(QUERY)
        assert info.value.retry_after is None
    assert (await operator.check_distribution_contract(QUERY)).status is ContractStatus.CONFIRMED
    assert operator.calls == 3


async def test_fail_next_with_a_given_error() -> None:
    operator = SandboxOperator(contract_rows())
    operator.fail_next(1, OperatorUnavailable("busy", retry_after=30))
    operator.fail_next(1, OperatorRejected("bad token", 401))
    with pytest.raises(OperatorUnavailable) as unavailable:
        await operator.check_distribution_contract(QUERY)
    assert unavailable.value.retry_after == 30
    with pytest.raises(OperatorRejected) as rejected:
        await operator.check_distribution_contract(QUERY)
    assert rejected.value.status_code == 401
    with pytest.raises(ValueError):
        operator.fail_next(-1)


async def test_random_failures_are_seeded() -> None:
    async def outcomes(seed: int) -> list[bool]:
        operator = SandboxOperator(contract_rows(), failure_rate=0.5, seed=seed)
        failed = []
        for _ in range(40):
            try:
                await operator.check_distribution_contract(QUERY)
                failed.append(False)
            except OperatorUnavailable:
                failed.append(True)
        return failed

    first = await outcomes(7)
    assert first == await outcomes(7)
    assert any(first) and not all(first)
    always = SandboxOperator(contract_rows(), failure_rate=1.0)
    with pytest.raises(OperatorUnavailable, match="random"):
        await always.check_distribution_contract(QUERY)
    with pytest.raises(ValueError, match="failure_rate"):
        SandboxOperator([], failure_rate=1.5)


async def test_latency_delays_every_call() -> None:
    operator = SandboxOperator(contract_rows(), latency=timedelta(milliseconds=50))
    loop = asyncio.get_running_loop()
    started = loop.time()
    await operator.check_distribution_contract(QUERY)
    assert loop.time() - started >= 0.05


async def test_from_settings_reads_file_latency_and_failure_rate(tmp_path: Path) -> None:
    path = tmp_path / "contracts.csv"
    path.write_text(f"# two lines of comment\n\n{HEADER}{PPE},{NIP},distribution,active\n")
    settings = Settings(
        operator_registry=path,
        operator_sandbox_latency=timedelta(milliseconds=5),
        operator_sandbox_failure_rate=0.25,
    )
    operator = SandboxOperator.from_settings(settings)
    assert (operator.latency, operator.failure_rate) == (timedelta(milliseconds=5), 0.25)
    operator.failure_rate = 0.0
    assert (await operator.check_distribution_contract(QUERY)).status is ContractStatus.CONFIRMED


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (f"{PPE},{NIP},distribution,active,extra", "expected 4 columns, got 5"),
        (f"590380100009000010,{NIP},distribution,active", "PPE: check digit is wrong"),
        (f"{PPE},12345,distribution,active", "holder id: must be a NIP"),
        (f"{PPE},1234563219,distribution,active", "NIP: check digit is wrong"),
        (f"{PPE},{NIP},retail,active", "contract_type must be distribution or comprehensive"),
        (f"{PPE},{NIP},distribution,suspended", "status must be active or terminated"),
        (f"{PPE},80010112340,distribution,active", "second active contract .* line 4"),
    ],
)
def test_bad_row_names_the_line(tmp_path: Path, line: str, problem: str) -> None:
    path = tmp_path / "contracts.csv"
    # Comments and blank lines count, so the number matches what an editor shows.
    path.write_text(f"# registry\n{HEADER}\n{PPE},{NIP},distribution,active\n{line}\n")
    with pytest.raises(RegistryError, match=f"contracts.csv line 5: {problem}"):
        load_registry(path)


def test_bad_header_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="line 1: header must be"):
        parse_registry("ppe,holder,type,status\n")
    with pytest.raises(RegistryError, match="no header"):
        parse_registry("# only a comment\n")
    with pytest.raises(RegistryError, match="cannot read"):
        load_registry(tmp_path / "missing.csv")


def test_columns_in_any_order() -> None:
    (row,) = parse_registry(
        f"status,contract_type,holder_id,ppe\nterminated,comprehensive,{NIP},{PPE}"
    )
    assert row == RegistryRow(PPE, NIP, ContractType.COMPREHENSIVE, RowStatus.TERMINATED)


async def test_active_contract_wins_over_history() -> None:
    rows = [
        RegistryRow(PPE, NIP, ContractType.DISTRIBUTION, RowStatus.ACTIVE),
        RegistryRow(PPE, "80010112340", ContractType.COMPREHENSIVE, RowStatus.TERMINATED),
    ]
    operator = SandboxOperator(rows)
    answer = await operator.check_distribution_contract(QUERY)
    assert answer.status is ContractStatus.CONFIRMED
    with pytest.raises(ValueError, match="two active"):
        SandboxOperator([rows[0], rows[0]])


async def test_query_that_skipped_validation_is_rejected() -> None:
    forged = object.__new__(ContractQuery)
    object.__setattr__(forged, "ppe", "590380100009000010")
    object.__setattr__(forged, "holder_id", NIP)
    with pytest.raises(OperatorRejected, match="check digit") as info:
        await SandboxOperator(contract_rows()).check_distribution_contract(forged)
    assert isinstance(info.value, OperatorError)


def test_query_is_validated_and_hides_the_holder() -> None:
    assert ContractQuery(f" {PPE[:9]} {PPE[9:]}", "123-456-32-18") == QUERY
    with pytest.raises(InvalidIdentifier, match="PPE"):
        ContractQuery("590380100009000010", NIP)
    with pytest.raises(InvalidIdentifier, match="PESEL"):
        ContractQuery(PPE, "80010112341")
    assert NIP not in repr(QUERY) and PPE in repr(QUERY)


def test_answer_must_be_consistent() -> None:
    answer = ContractAnswer(PPE, "confirmed", "distribution", "R-1")  # type: ignore[arg-type]
    assert answer.status is ContractStatus.CONFIRMED
    assert answer.contract_type is ContractType.DISTRIBUTION
    with pytest.raises(ValueError, match="confirmed"):
        ContractAnswer(PPE, ContractStatus.CONFIRMED, ContractType.COMPREHENSIVE, "R-1")
    with pytest.raises(ValueError, match="unknown PPE"):
        ContractAnswer(PPE, ContractStatus.UNKNOWN_PPE, ContractType.DISTRIBUTION, "R-1")
    with pytest.raises(ValueError, match="reference"):
        ContractAnswer(PPE, ContractStatus.NO_CONTRACT, None, "")
    with pytest.raises(ValueError):
        ContractAnswer(PPE, "maybe", None, "R-1")  # type: ignore[arg-type]
