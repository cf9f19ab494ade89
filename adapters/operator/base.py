"""The grid-operator port: what the activities need from the DSO (Stoen Operator).

Each capability is its own Protocol and :class:`GridOperator` is their sum, so an activity
that needs one capability types its dependency as that capability alone:

- :class:`ContractChecks`: does a PPE have an active *separate distribution contract* held by
  a given customer (partner linking);
- :class:`OutageReports`: known outages for a PPE, tickets for new ones, their status;
- :class:`SupplySuspensions`: asking the DSO to suspend supply for non-payment (Energy Law
  art. 6b), and withdrawing that request.

Exceptions::

    OperatorError                  root of everything a GridOperator raises
    ├── OperatorRejected           permanent: our request is wrong, or we are not authorised
    ├── NotificationRejected       a DSO notification that must not be believed (signature, shape)
    └── OperatorUnavailable        transient: down, timeout, 5xx, 429; retry later (retry_after)
        └── OperatorProtocolError  the DSO answered, but not in the agreed protocol
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from ebok.ids import InvalidIdentifier, normalize_nip, normalize_pesel, normalize_ppe

__all__ = [
    "ContractAnswer",
    "ContractChecks",
    "ContractQuery",
    "ContractStatus",
    "ContractType",
    "MAX_KEY",
    "GridOperator",
    "IncidentState",
    "IncidentStatus",
    "KnownOutage",
    "NotificationRejected",
    "OutageKind",
    "OutageLookup",
    "OutageReports",
    "OutageTicket",
    "SupplySuspensions",
    "SuspensionAnswer",
    "SuspensionRequest",
    "TicketRequest",
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


class NotificationRejected(OperatorError):
    """A status notification that is not believed: bad or missing signature, malformed body.

    ``reason`` is short and safe to log and to answer the sender with; nothing of the body is
    applied when this is raised.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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


MAX_KEY = 64  # characters of our idempotency keys; the DSO protocol bounds them


def _check_key(key: str) -> None:
    if not key or len(key) > MAX_KEY:
        raise ValueError(f"key must be 1-{MAX_KEY} characters")


def _require_aware(**moments: datetime) -> None:
    # Naive datetimes would be read in whatever zone a process runs in; the DSO needs instants.
    for name, moment in moments.items():
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"{name} must be timezone-aware")


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


# --- outages ------------------------------------------------------------------------------------


class OutageKind(StrEnum):
    PLANNED = "planned"  # announced work with a window
    UNPLANNED = "unplanned"  # a failure; the legal interruption clock applies


class IncidentState(StrEnum):
    """Where the DSO is with an incident. ``RESTORED`` and ``CANCELLED`` are terminal."""

    OPEN = "open"  # ticket accepted, nobody has looked yet
    ACKNOWLEDGED = "acknowledged"
    CREW_DISPATCHED = "crew_dispatched"
    RESTORED = "restored"
    CANCELLED = "cancelled"  # not an outage at the DSO's side (e.g. the customer's own fuse)

    @property
    def terminal(self) -> bool:
        return self in (IncidentState.RESTORED, IncidentState.CANCELLED)


@dataclass(frozen=True)
class KnownOutage:
    """An outage the DSO already knows of. ``reference`` is the DSO's incident id.

    Planned work has ``window_end`` (and ``started_at`` as the window start); an unplanned one
    has ``expected_restoration`` when the DSO has given one.
    """

    reference: str
    kind: OutageKind
    area: str
    state: IncidentState
    started_at: datetime
    expected_restoration: datetime | None = None
    window_end: datetime | None = None


@dataclass(frozen=True)
class OutageLookup:
    """The DSO's answer to "is anything known for this PPE?": its area, and the outage if any."""

    ppe: str
    area: str
    outage: KnownOutage | None

    def __post_init__(self) -> None:
        object.__setattr__(self, "ppe", normalize_ppe(self.ppe))


@dataclass(frozen=True)
class TicketRequest:
    """Open a ticket for a failure nobody has reported yet.

    ``key`` is ours (the incident's id): the DSO keeps one ticket per key, so a retried call
    returns the ticket it already opened.
    """

    key: str
    ppe: str
    area: str
    reported_at: datetime
    description: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "ppe", normalize_ppe(self.ppe))
        _check_key(self.key)
        _require_aware(reported_at=self.reported_at)


@dataclass(frozen=True)
class OutageTicket:
    reference: str  # the DSO's incident id
    key: str
    state: IncidentState


@dataclass(frozen=True)
class IncidentStatus:
    """The DSO's current view of an incident (a status query, or a verified webhook)."""

    reference: str
    state: IncidentState
    changed_at: datetime
    acknowledged_at: datetime | None = None
    expected_restoration: datetime | None = None
    restored_at: datetime | None = None
    note: str = ""


@runtime_checkable
class OutageReports(Protocol):
    """Capability: outage reporting (process 5)."""

    async def lookup_outage(self, ppe: str) -> OutageLookup:
        """The PPE's area and any open or planned outage covering it now. Read-only."""
        ...

    async def open_ticket(self, request: TicketRequest) -> OutageTicket:
        """Open (or find, for a key already used) the DSO's ticket; never two for one key."""
        ...

    async def ticket_status(self, reference: str) -> IncidentStatus:
        """Poll the DSO for an incident's status. Read-only."""
        ...


# --- supply suspension for non-payment -----------------------------------------------------------


@dataclass(frozen=True)
class SuspensionRequest:
    """Ask the DSO to suspend supply to ``ppe`` for non-payment of ``invoice_number``.

    ``key`` is ours (one per invoice and demand): the DSO keeps one request per key.
    """

    key: str
    ppe: str
    invoice_number: str
    notice_served_at: datetime  # when the written notice (wezwanie) reached the customer
    not_before: datetime  # the end of the statutory notice period

    def __post_init__(self) -> None:
        object.__setattr__(self, "ppe", normalize_ppe(self.ppe))
        _check_key(self.key)
        _require_aware(notice_served_at=self.notice_served_at, not_before=self.not_before)
        if self.not_before <= self.notice_served_at:
            raise ValueError("not_before must come after notice_served_at")


@dataclass(frozen=True)
class SuspensionAnswer:
    reference: str  # the DSO's id of the request
    key: str
    accepted: bool


@runtime_checkable
class SupplySuspensions(Protocol):
    """Capability: supply suspension for non-payment (invoice dunning)."""

    async def request_suspension(self, request: SuspensionRequest) -> SuspensionAnswer:
        """File (or find, for a key already used) the request; never two for one key."""
        ...

    async def withdraw_suspension(self, reference: str) -> None:
        """Withdraw a filed request (paid, or a complaint); withdrawing twice is not an error."""
        ...


@runtime_checkable
class GridOperator(ContractChecks, OutageReports, SupplySuspensions, Protocol):
    """The whole port; implementations are built with ``from_settings(settings)``.

    New capabilities are added as further bases here, not as methods of an existing
    capability, so a caller's narrower dependency never grows under it.
    """

    async def aclose(self) -> None:
        """Release connections; the operator is not used afterwards."""
        ...
