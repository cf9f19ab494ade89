"""The grid-operator port: what the activities need from the DSO (Stoen Operator).

Today it has one capability, checking that a PPE has an active *separate distribution
contract* held by a given customer (partner linking). Each capability is its own Protocol and
:class:`GridOperator` is their sum, so outage operations (known outages in an area, create a
ticket, ticket status) join later as one more base of :class:`GridOperator`, while activities
that need only one capability keep typing their dependency as that capability alone.

Exceptions::

    OperatorError                  root of everything a GridOperator raises
    ├── OperatorRejected           permanent: our request is wrong, or we are not authorised
    └── OperatorUnavailable        transient: down, timeout, 5xx, 429; retry later (retry_after)
        └── OperatorProtocolError  the DSO answered, but not in the agreed protocol
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable

from ebok.ids import InvalidIdentifier, normalize_nip, normalize_pesel, normalize_ppe

__all__ = [
    "ContractAnswer",
    "ContractChecks",
    "ContractQuery",
    "ContractStatus",
    "ContractType",
    "GridOperator",
    "OperatorError",
    "OperatorProtocolError",
    "OperatorRejected",
    "OperatorUnavailable",
    "normalize_holder_id",
]


class OperatorError(Exception):
    """Root of everything a GridOperator raises."""


class OperatorRejected(OperatorError):
    """Permanent: the DSO refused the request itself (bad input, unknown route, auth failure).

    Retrying the same request cannot help; ``status_code`` is the HTTP status when there was one.
    """

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class OperatorUnavailable(OperatorError):
    """Transient: the DSO could not answer now; ``retry_after`` is its hint in seconds."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class OperatorProtocolError(OperatorUnavailable):
    """The DSO answered, but the answer breaks the protocol (bad JSON, unknown status, ...).

    Not trusted, so never turned into a business answer. A subclass of the transient error,
    because the usual causes (a deploy in progress, a proxy's error page) pass and a retry with
    back-off is right; its own type keeps it visible in the workflow history and the metrics,
    and once retries run out the process falls back to manual review like any outage.
    """


class ContractStatus(StrEnum):
    CONFIRMED = "confirmed"  # an active separate distribution contract, held by this customer
    NO_CONTRACT = "no_contract"  # none active: comprehensive contract, terminated, or nothing
    OTHER_PARTY = "other_party"  # an active distribution contract held by someone else
    UNKNOWN_PPE = "unknown_ppe"  # the DSO does not know this PPE


class ContractType(StrEnum):
    DISTRIBUTION = "distribution"  # umowa o świadczenie usług dystrybucji (separate)
    COMPREHENSIVE = "comprehensive"  # umowa kompleksowa: sale and distribution in one


def normalize_holder_id(value: str) -> str:
    """A NIP (10 digits; dashes, spaces, "PL" allowed) or a PESEL (11 digits), compacted."""
    compact = value.strip().replace(" ", "").replace("-", "")
    if compact[:2].upper() == "PL":
        compact = compact[2:]
    if len(compact) == 11:
        return normalize_pesel(compact)
    if len(compact) == 10:
        return normalize_nip(compact)
    raise InvalidIdentifier("holder id", "must be a NIP (10 digits) or a PESEL (11 digits)")


@dataclass(frozen=True)
class ContractQuery:
    """Does ``holder_id`` hold an active separate distribution contract for ``ppe``?

    Both fields are normalized on construction (:class:`~ebok.ids.InvalidIdentifier` if
    invalid), so equal questions are equal objects whatever the formatting they came in.
    """

    ppe: str
    # The NIP or PESEL the DSO knows the contract holder by; personal data, so not in repr().
    holder_id: str = field(repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ppe", normalize_ppe(self.ppe))
        object.__setattr__(self, "holder_id", normalize_holder_id(self.holder_id))


@dataclass(frozen=True)
class ContractAnswer:
    """The DSO's answer; ``reference`` is its id of the check, kept for audit and disputes.

    ``contract_type`` is what the PPE has when that matters to the answer: ``distribution`` for
    ``confirmed``; the contract found for ``no_contract`` (``None`` when there is none at all);
    ``None`` for ``unknown_ppe``. For ``other_party`` it is optional, as it describes someone
    else's contract.
    """

    ppe: str
    status: ContractStatus
    contract_type: ContractType | None
    reference: str

    def __post_init__(self) -> None:
        # Coerce so answers built from wire strings are typed, and refuse inconsistent ones.
        object.__setattr__(self, "status", ContractStatus(self.status))
        if self.contract_type is not None:
            object.__setattr__(self, "contract_type", ContractType(self.contract_type))
        if not self.reference:
            raise ValueError("reference must not be empty")
        if self.status is ContractStatus.CONFIRMED and (
            self.contract_type is not ContractType.DISTRIBUTION
        ):
            raise ValueError("a confirmed answer must be about a distribution contract")
        if self.status is ContractStatus.UNKNOWN_PPE and self.contract_type is not None:
            raise ValueError("an unknown PPE has no contract type")


@runtime_checkable
class ContractChecks(Protocol):
    """Capability: distribution-contract checks (partner linking)."""

    async def check_distribution_contract(self, query: ContractQuery) -> ContractAnswer:
        """Ask the DSO; raise an :class:`OperatorError` subclass if there is no valid answer.

        Read-only at the DSO, so safe to repeat; an activity may call it at least once.
        """
        ...


@runtime_checkable
class GridOperator(ContractChecks, Protocol):
    """The whole port; implementations are built with ``from_settings(settings)``.

    New capabilities (outages) are added as further bases here, not as methods of an existing
    capability, so a caller's narrower dependency never grows under it.
    """

    async def aclose(self) -> None:
        """Release connections; the operator is not used afterwards."""
        ...
