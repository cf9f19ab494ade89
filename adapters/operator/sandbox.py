"""A GridOperator that answers from a contract registry: for development, demos and tests.

The registry is a CSV file with the header ``ppe,holder_id,contract_type,status`` (any column
order); ``contract_type`` is ``distribution`` or ``comprehensive``, ``status`` is ``active`` or
``terminated``. Lines starting with ``#`` and blank lines are ignored. A PPE may appear more
than once (its history), with at most one active row.

Answers, in this order: PPE not in the registry → ``unknown_ppe``; its contract (the active
row, else the last row) terminated or comprehensive → ``no_contract`` with that contract type;
held by someone else → ``other_party``; otherwise ``confirmed``.

Without ``EBOK_OPERATOR_REGISTRY`` the bundled ``sandbox_registry.csv`` is used; its header
comment lists the demo PPEs and holders.
"""

from __future__ import annotations

import asyncio
import copy
import csv
import dataclasses
import hashlib
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

from adapters.operator.base import (
    ContractAnswer,
    ContractQuery,
    ContractStatus,
    ContractType,
    OperatorError,
    OperatorRejected,
    OperatorUnavailable,
    SuspensionAnswer,
    SuspensionRequest,
    normalize_holder_id,
)
from adapters.operator.simulation import DsoSimulation, Faults
from ebok.ids import InvalidIdentifier, normalize_ppe
from ebok.settings import Settings

__all__ = [
    "BUNDLED_REGISTRY",
    "COLUMNS",
    "RegistryError",
    "RegistryRow",
    "RowStatus",
    "SandboxOperator",
    "load_registry",
    "parse_registry",
]

BUNDLED_REGISTRY = "sandbox_registry.csv"  # next to this module, shipped as package data
COLUMNS = ("ppe", "holder_id", "contract_type", "status")


class RegistryError(ValueError):
    """The registry file is unusable; the message names the file and line."""


class RowStatus(StrEnum):
    ACTIVE = "active"
    TERMINATED = "terminated"


@dataclass(frozen=True)
class RegistryRow:
    """One contract the DSO knows of; identifiers are normalized on construction."""

    ppe: str
    holder_id: str = field(repr=False)  # personal data: kept out of logs
    contract_type: ContractType
    status: RowStatus = RowStatus.ACTIVE

    def __post_init__(self) -> None:
        object.__setattr__(self, "ppe", normalize_ppe(self.ppe))
        object.__setattr__(self, "holder_id", normalize_holder_id(self.holder_id))
        object.__setattr__(self, "contract_type", ContractType(self.contract_type))
        object.__setattr__(self, "status", RowStatus(self.status))


def _data_lines(text: str) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip() and not line.lstrip().startswith("#"):
            yield number, line


def parse_registry(text: str, source: str = "registry") -> list[RegistryRow]:
    """Rows of a registry CSV; :class:`RegistryError` naming ``source`` and the line if bad."""
    lines = _data_lines(text)
    header_at = next(lines, None)
    if header_at is None:
        raise RegistryError(f"{source}: no header line ({','.join(COLUMNS)})")
    number, header_line = header_at
    header = [name.strip() for name in next(csv.reader([header_line]))]
    if sorted(header) != sorted(COLUMNS):
        raise RegistryError(f"{source} line {number}: header must be {','.join(COLUMNS)}")
    rows: list[RegistryRow] = []
    active_at: dict[str, int] = {}
    for number, line in lines:
        cells = [cell.strip() for cell in next(csv.reader([line]))]
        if len(cells) != len(header):
            raise RegistryError(
                f"{source} line {number}: expected {len(header)} columns, got {len(cells)}"
            )
        row = dict(zip(header, cells, strict=True))
        try:
            contract_type = ContractType(row["contract_type"])
        except ValueError:
            raise RegistryError(
                f"{source} line {number}: contract_type must be distribution or comprehensive"
            ) from None
        try:
            status = RowStatus(row["status"])
        except ValueError:
            raise RegistryError(
                f"{source} line {number}: status must be active or terminated"
            ) from None
        try:
            entry = RegistryRow(row["ppe"], row["holder_id"], contract_type, status)
        except InvalidIdentifier as e:  # its message never repeats the (personal) value
            raise RegistryError(f"{source} line {number}: {e}") from None
        if status is RowStatus.ACTIVE:
            if entry.ppe in active_at:
                raise RegistryError(
                    f"{source} line {number}: second active contract for the PPE of line "
                    f"{active_at[entry.ppe]}"
                )
            active_at[entry.ppe] = number
        rows.append(entry)
    return rows


def load_registry(path: Path | None = None) -> list[RegistryRow]:
    """Rows of the registry file at ``path``, or of the bundled one if ``path`` is None."""
    if path is None:
        bundled = resources.files("adapters.operator").joinpath(BUNDLED_REGISTRY)
        return parse_registry(bundled.read_text(encoding="utf-8"), BUNDLED_REGISTRY)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise RegistryError(f"{path}: cannot read the contract registry: {e}") from e
    return parse_registry(text, str(path))


def _index(rows: Iterable[RegistryRow]) -> dict[str, RegistryRow]:
    """The row that decides each PPE: its active contract, else its last one."""
    decisive: dict[str, RegistryRow] = {}
    for row in rows:
        current = decisive.get(row.ppe)
        if current is not None and current.status is RowStatus.ACTIVE:
            if row.status is RowStatus.ACTIVE:
                raise ValueError(f"PPE {row.ppe} has two active contracts")
            continue
        decisive[row.ppe] = row
    return decisive


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _checked_ppe(ppe: str) -> str:
    # Again here, as a real DSO would: a request may have been built without validation.
    try:
        return normalize_ppe(ppe)
    except InvalidIdentifier as e:
        raise OperatorRejected(f"sandbox: {e}") from None


class SandboxOperator:
    """A DSO simulated in memory: contract checks from registry rows, and a
    :class:`DsoSimulation` that keeps suspension requests and decides how the DSO misbehaves.

    ``latency`` delays every call; ``failure_rate`` (0..1) makes calls fail at random with
    :class:`OperatorUnavailable`, from an RNG seeded with ``seed`` so a demo can be replayed;
    ``down`` makes every call fail. All three live in the simulation, so operators built over
    one ``simulation`` share them. ``clock`` is the DSO's time (tests may move it).
    """

    def __init__(
        self,
        contracts: Iterable[RegistryRow],
        latency: timedelta = timedelta(0),
        failure_rate: float = 0.0,
        seed: int | None = None,
        *,
        simulation: DsoSimulation | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        rows = list(contracts)
        self._contracts = _index(rows)
        if simulation is None:
            simulation = DsoSimulation(Faults(latency, failure_rate))
        elif latency or failure_rate:
            raise ValueError("give latency and failure_rate to the shared simulation's faults")
        self.simulation = simulation
        self.clock = clock
        self.calls = 0  # every call, including failed ones
        self._random = random.Random(seed)
        self._failures: list[OperatorError] = []

    @classmethod
    def from_settings(cls, settings: Settings) -> SandboxOperator:
        return cls(
            load_registry(settings.operator_registry),
            latency=settings.operator_sandbox_latency,
            failure_rate=settings.operator_sandbox_failure_rate,
        )

    @property
    def latency(self) -> timedelta:
        return self.simulation.faults.latency

    @latency.setter
    def latency(self, value: timedelta) -> None:
        self._set_faults(latency=value)

    @property
    def failure_rate(self) -> float:
        return self.simulation.faults.failure_rate

    @failure_rate.setter
    def failure_rate(self, value: float) -> None:
        self._set_faults(failure_rate=value)

    @property
    def down(self) -> bool:
        return self.simulation.faults.down

    @down.setter
    def down(self, value: bool) -> None:
        self._set_faults(down=value)

    def _set_faults(self, **changes: Any) -> None:
        faults = dataclasses.replace(self.simulation.faults, **changes)  # validates
        self.simulation.faults = faults

    def fail_next(self, n: int = 1, error: OperatorError | None = None) -> None:
        """Make the next ``n`` calls raise ``error`` (default :class:`OperatorUnavailable`)."""
        if n < 0:
            raise ValueError("n must be >= 0")
        template = error if error is not None else OperatorUnavailable("sandbox: injected failure")
        # A copy per failure, so tracebacks do not pile up on one exception object.
        self._failures.extend(copy.copy(template) for _ in range(n))

    async def _enter(self) -> None:
        """What every port call goes through first: latency, then the injected failures."""
        self.calls += 1
        faults = self.simulation.faults
        if faults.latency:
            await asyncio.sleep(faults.latency.total_seconds())
        if self._failures:
            raise self._failures.pop(0)
        if faults.down:
            raise OperatorUnavailable("sandbox: the DSO is down (simulation switch)")
        if faults.failure_rate and self._random.random() < faults.failure_rate:
            raise OperatorUnavailable("sandbox: random failure (operator_sandbox_failure_rate)")

    async def check_distribution_contract(self, query: ContractQuery) -> ContractAnswer:
        await self._enter()
        try:
            # Again here, as a real DSO would: a query may have been built without validation.
            ppe, holder_id = normalize_ppe(query.ppe), normalize_holder_id(query.holder_id)
        except InvalidIdentifier as e:
            raise OperatorRejected(f"sandbox: {e}") from None
        return self._answer(ppe, holder_id)

    def _answer(self, ppe: str, holder_id: str) -> ContractAnswer:
        row = self._contracts.get(ppe)
        if row is None:
            status, contract_type = ContractStatus.UNKNOWN_PPE, None
        elif row.status is RowStatus.TERMINATED or row.contract_type is ContractType.COMPREHENSIVE:
            status, contract_type = ContractStatus.NO_CONTRACT, row.contract_type
        elif row.holder_id != holder_id:
            # Someone else's contract: its details are not ours to see.
            status, contract_type = ContractStatus.OTHER_PARTY, None
        else:
            status, contract_type = ContractStatus.CONFIRMED, ContractType.DISTRIBUTION
        # Stable per PPE and outcome, so a retried check reports the same reference; the holder
        # is left out, as a hash of a PESEL can be reversed by trying them all.
        digest = hashlib.sha256(f"{ppe}:{status.value}".encode()).hexdigest()
        return ContractAnswer(ppe, status, contract_type, f"SBX-{digest[:12].upper()}")

    # --- supply suspensions -------------------------------------------------------------------

    async def request_suspension(self, request: SuspensionRequest) -> SuspensionAnswer:
        """Filed under ``request.key``; declined (``accepted=False``) for a PPE whose contract is
        terminated, as the DSO supplies nothing there to suspend; accepted otherwise."""
        await self._enter()
        ppe = _checked_ppe(request.ppe)
        row = self._contracts.get(ppe)
        accepted = row is None or row.status is RowStatus.ACTIVE
        return self.simulation.file_suspension(request, accepted=accepted, now=self.clock())

    async def withdraw_suspension(self, reference: str) -> None:
        await self._enter()
        self.simulation.withdraw_suspension(reference, now=self.clock())

    async def aclose(self) -> None:
        return None
