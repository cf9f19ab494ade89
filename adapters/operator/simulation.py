"""The sandbox DSO's world: what it has been asked to do, and how well it is feeling.

One :class:`DsoSimulation` is the DSO's side of the sandbox adapter. Several
:class:`~adapters.operator.sandbox.SandboxOperator` instances built over the same simulation
(the worker's, a test's, a local HTTP server's) see one DSO: a suspension filed through one is
visible through the others, and a fault switched on here hits them all.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from adapters.operator.base import (
    MAX_KEY,
    OperatorRejected,
    SuspensionAnswer,
    SuspensionRequest,
)

__all__ = ["DsoSimulation", "Faults", "FiledSuspension"]


@dataclass
class Faults:
    """How the simulated DSO misbehaves; every port call of every operator over it obeys."""

    latency: timedelta = timedelta(0)  # before every answer
    failure_rate: float = 0.0  # 0..1: share of calls failing with OperatorUnavailable
    down: bool = False  # every call fails with OperatorUnavailable

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        if not 0.0 <= self.failure_rate <= 1.0:
            raise ValueError("failure_rate must be between 0 and 1")
        if self.latency < timedelta(0):
            raise ValueError("latency must not be negative")


@dataclass
class FiledSuspension:
    """A suspension request as the DSO keeps it; ``withdrawn_at`` is set once withdrawn."""

    reference: str
    request: SuspensionRequest
    accepted: bool
    filed_at: datetime
    withdrawn_at: datetime | None = None

    @property
    def answer(self) -> SuspensionAnswer:
        return SuspensionAnswer(self.reference, self.request.key, self.accepted)


def suspension_reference(key: str) -> str:
    """Stable per key, so even a DSO restarted from nothing gives a retry the same reference."""
    return f"SBX-S-{hashlib.sha256(key.encode()).hexdigest()[:12].upper()}"


@dataclass
class DsoSimulation:
    """The simulated DSO's state. Mutated only through its methods and the operators over it."""

    faults: Faults = field(default_factory=Faults)
    suspensions: dict[str, FiledSuspension] = field(default_factory=dict)  # by our key

    # --- supply suspensions ---------------------------------------------------------------

    def file_suspension(
        self, request: SuspensionRequest, *, accepted: bool, now: datetime
    ) -> SuspensionAnswer:
        """The request filed under its key, or the one filed before under that key."""
        if len(request.key) > MAX_KEY:
            raise OperatorRejected(f"sandbox: key longer than {MAX_KEY} characters", 422)
        filed = self.suspensions.get(request.key)
        if filed is None:
            filed = FiledSuspension(suspension_reference(request.key), request, accepted, now)
            self.suspensions[request.key] = filed
        elif filed.request != request:
            # One key, two different requests: a bug on the caller's side, never a retry.
            raise OperatorRejected(
                "sandbox: idempotency key already used for a different suspension request", 422
            )
        return filed.answer

    def withdraw_suspension(self, reference: str, *, now: datetime) -> FiledSuspension:
        for filed in self.suspensions.values():
            if filed.reference == reference:
                if filed.withdrawn_at is None:
                    filed.withdrawn_at = now
                return filed
        raise OperatorRejected(f"sandbox: no suspension request {reference!r}", 404)

    def active_suspensions(self) -> list[FiledSuspension]:
        """Filed and not withdrawn, in filing order."""
        return [s for s in self.suspensions.values() if s.withdrawn_at is None]
