"""A GridOperator simulated in memory: for development, demos and tests.

Contract checks answer from a contract registry (:mod:`adapters.operator.contract_registry`),
in this order: PPE not in the registry → ``unknown_ppe``; its contract (the active row, else
the last row) terminated or comprehensive → ``no_contract`` with that contract type; held by
someone else → ``other_party``; otherwise ``confirmed``. Without ``EBOK_OPERATOR_REGISTRY`` the
bundled ``sandbox_registry.csv`` is used; its header comment lists the demo PPEs and holders.

Outages and suspension requests live in a :class:`~adapters.operator.simulation.DsoSimulation`
(shared by every operator built over it; in a file with ``EBOK_OPERATOR_SANDBOX_STATE``). Each
PPE is in the area its registry row names, else in one derived from the PPE
(:func:`~adapters.operator.incidents.area_for`).
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import hashlib
import random
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from adapters.operator.base import (
    ContractAnswer,
    ContractQuery,
    ContractStatus,
    ContractType,
    IncidentStatus,
    OperatorError,
    OperatorRejected,
    OperatorUnavailable,
    OutageLookup,
    OutageTicket,
    SuspensionAnswer,
    SuspensionRequest,
    TicketRequest,
    normalize_holder_id,
)
from adapters.operator.contract_registry import (
    BUNDLED_REGISTRY,
    COLUMNS,
    RegistryError,
    RegistryRow,
    RowStatus,
    index_rows,
    load_registry,
    parse_registry,
)
from adapters.operator.incidents import area_for
from adapters.operator.simulation import DsoSimulation, Faults
from ebok.ids import InvalidIdentifier, normalize_ppe
from ebok.settings import Settings

__all__ = [
    "BUNDLED_REGISTRY",
    "COLUMNS",
    "DsoSimulation",
    "RegistryError",
    "RegistryRow",
    "RowStatus",
    "SandboxOperator",
    "load_registry",
    "parse_registry",
]


def _checked_ppe(ppe: str) -> str:
    # Again here, as a real DSO would: a request may have been built without validation.
    try:
        return normalize_ppe(ppe)
    except InvalidIdentifier as e:
        raise OperatorRejected(f"sandbox: {e}") from None


class SandboxOperator:
    """A DSO in memory: contract checks from registry rows; outages, suspension requests and
    faults in a :class:`DsoSimulation` (``simulation``; a new one unless given, to share).

    ``latency`` delays every call; ``failure_rate`` (0..1) makes calls fail at random with
    :class:`OperatorUnavailable`, from an RNG seeded with ``seed`` so a demo can be replayed;
    ``down`` makes every call fail. All three live in the simulation, so every operator over
    it obeys them; :meth:`fail_next` is this operator's own.
    """

    def __init__(
        self,
        contracts: Iterable[RegistryRow],
        latency: timedelta = timedelta(0),
        failure_rate: float = 0.0,
        seed: int | None = None,
        *,
        simulation: DsoSimulation | None = None,
    ) -> None:
        rows = list(contracts)
        self._contracts = index_rows(rows)
        self._areas = {row.ppe: row.area for row in rows if row.area}
        if simulation is None:
            simulation = DsoSimulation(Faults(latency, failure_rate))
        elif latency or failure_rate:
            raise ValueError("give latency and failure_rate to the shared simulation's faults")
        self.simulation = simulation
        self.calls = 0  # every call, including failed ones
        self._random = random.Random(seed)
        self._failures: list[OperatorError] = []

    @classmethod
    def from_settings(cls, settings: Settings) -> SandboxOperator:
        faults = Faults(settings.operator_sandbox_latency, settings.operator_sandbox_failure_rate)
        if settings.operator_sandbox_state is None:
            simulation = DsoSimulation(faults)
        else:
            # The settings' faults apply from each start; the file's commands change them later.
            simulation = DsoSimulation(path=settings.operator_sandbox_state)
            simulation.save_faults(faults)
        return cls(load_registry(settings.operator_registry), simulation=simulation)

    def area_of(self, ppe: str) -> str:
        """The outage area of a (normalized) PPE: its registry row's, else a derived one."""
        return self._areas.get(ppe) or area_for(ppe)

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
        self.simulation.save_faults(dataclasses.replace(self.simulation.faults, **changes))

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
        self.simulation.refresh()  # another process may have flipped a fault
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
        row = self._contracts.get(_checked_ppe(request.ppe))
        accepted = row is None or row.status is RowStatus.ACTIVE
        return self.simulation.file_suspension(request, accepted=accepted)

    async def withdraw_suspension(self, reference: str) -> None:
        await self._enter()
        self.simulation.withdraw_suspension(reference)

    # --- outages ------------------------------------------------------------------------------

    async def lookup_outage(self, ppe: str) -> OutageLookup:
        await self._enter()
        ppe = _checked_ppe(ppe)
        area = self.area_of(ppe)
        return OutageLookup(ppe, area, await self.simulation.known_outage(area))

    async def open_ticket(self, request: TicketRequest) -> OutageTicket:
        """Onto the outage covering the PPE's area, or a new unplanned one; one per key."""
        await self._enter()
        area = self.area_of(_checked_ppe(request.ppe))
        if request.area.casefold() != area.casefold():
            # The DSO places its PPEs itself: a ticket for another area is a caller's mistake.
            # Its names in any case are one area: billing keeps them upper-case.
            raise OperatorRejected(
                f"sandbox: the PPE is in area {area!r}, not {request.area!r}", 422
            )
        return await self.simulation.open_ticket(request, area)

    async def ticket_status(self, reference: str) -> IncidentStatus:
        await self._enter()
        return await self.simulation.incident_status(reference)

    async def aclose(self) -> None:
        return None
