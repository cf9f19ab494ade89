"""Incidents as the simulated DSO keeps them: areas, states and the moves between them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from adapters.operator.base import (
    IncidentState,
    IncidentStatus,
    KnownOutage,
    OperatorRejected,
    OutageKind,
)

__all__ = [
    "AREAS",
    "AREA_NAMES",
    "Incident",
    "SimulationError",
    "area_for",
    "area_name",
    "unknown_incident",
]

# Stoen Operator's network is Warsaw: one area per district, as a slug.
AREAS = (
    "warszawa-bemowo",
    "warszawa-bialoleka",
    "warszawa-bielany",
    "warszawa-mokotow",
    "warszawa-ochota",
    "warszawa-praga-polnoc",
    "warszawa-praga-poludnie",
    "warszawa-rembertow",
    "warszawa-srodmiescie",
    "warszawa-targowek",
    "warszawa-ursus",
    "warszawa-ursynow",
    "warszawa-wawer",
    "warszawa-wesola",
    "warszawa-wilanow",
    "warszawa-wlochy",
    "warszawa-wola",
    "warszawa-zoliborz",
)

# How the districts are written for people: the slugs above lose the Polish letters.
AREA_NAMES = {
    "warszawa-bemowo": "Warszawa-Bemowo",
    "warszawa-bialoleka": "Warszawa-Białołęka",
    "warszawa-bielany": "Warszawa-Bielany",
    "warszawa-mokotow": "Warszawa-Mokotów",
    "warszawa-ochota": "Warszawa-Ochota",
    "warszawa-praga-polnoc": "Warszawa-Praga-Północ",
    "warszawa-praga-poludnie": "Warszawa-Praga-Południe",
    "warszawa-rembertow": "Warszawa-Rembertów",
    "warszawa-srodmiescie": "Warszawa-Śródmieście",
    "warszawa-targowek": "Warszawa-Targówek",
    "warszawa-ursus": "Warszawa-Ursus",
    "warszawa-ursynow": "Warszawa-Ursynów",
    "warszawa-wawer": "Warszawa-Wawer",
    "warszawa-wesola": "Warszawa-Wesoła",
    "warszawa-wilanow": "Warszawa-Wilanów",
    "warszawa-wlochy": "Warszawa-Włochy",
    "warszawa-wola": "Warszawa-Wola",
    "warszawa-zoliborz": "Warszawa-Żoliborz",
}


def area_name(area: str) -> str:
    """An area as a customer reads it; an area we have no name for, as the DSO gave it."""
    return AREA_NAMES.get(area.strip().lower(), area)


# Forward only; a terminal state is never left.
_RANK = {
    IncidentState.OPEN: 0,
    IncidentState.ACKNOWLEDGED: 1,
    IncidentState.CREW_DISPATCHED: 2,
    IncidentState.RESTORED: 3,
    IncidentState.CANCELLED: 3,
}


class SimulationError(ValueError):
    """A simulation command that makes no sense (unknown incident, a move backwards)."""


def area_for(ppe: str) -> str:
    """The area of a PPE the registry does not place: stable, spread over the districts."""
    digest = hashlib.sha256(ppe.encode()).digest()
    return AREAS[int.from_bytes(digest[:4], "big") % len(AREAS)]


@dataclass
class Incident:
    """One outage at the DSO; planned work has ``window_end``."""

    reference: str
    kind: OutageKind
    area: str
    state: IncidentState
    started_at: datetime
    changed_at: datetime
    acknowledged_at: datetime | None = None
    expected_restoration: datetime | None = None
    restored_at: datetime | None = None
    window_end: datetime | None = None
    note: str = ""
    ticket_keys: list[str] = field(default_factory=list)

    def covers(self, now: datetime) -> bool:
        """Does it cut the area off at ``now``?"""
        if self.state.terminal:
            return False
        if self.kind is OutageKind.PLANNED:
            return self.started_at <= now and (self.window_end is None or now < self.window_end)
        return self.started_at <= now

    def status(self) -> IncidentStatus:
        return IncidentStatus(
            reference=self.reference,
            state=self.state,
            changed_at=self.changed_at,
            acknowledged_at=self.acknowledged_at,
            expected_restoration=self.expected_restoration,
            restored_at=self.restored_at,
            note=self.note,
        )

    def known(self) -> KnownOutage:
        return KnownOutage(
            reference=self.reference,
            kind=self.kind,
            area=self.area,
            state=self.state,
            started_at=self.started_at,
            expected_restoration=self.expected_restoration,
            window_end=self.window_end,
        )

    def move(self, state: IncidentState, now: datetime, note: str | None = None) -> bool:
        """Go to ``state``; False (nothing changed) if already there. Backwards or out of a
        terminal state is a :class:`SimulationError`."""
        if state is self.state:
            return False
        if self.state.terminal or _RANK[state] < _RANK[self.state]:
            raise SimulationError(
                f"incident {self.reference} is {self.state.value}; it cannot become {state.value}"
            )
        self.state = state
        self.changed_at = now
        if state in (IncidentState.ACKNOWLEDGED, IncidentState.CREW_DISPATCHED):
            self.acknowledged_at = self.acknowledged_at or now
        if state is IncidentState.RESTORED:
            self.restored_at = now
        if note is not None:
            self.note = note
        return True

    def expect(self, when: datetime | None, now: datetime) -> bool:
        if self.state.terminal:
            raise SimulationError(f"incident {self.reference} is {self.state.value} already")
        if when == self.expected_restoration:
            return False
        self.expected_restoration = when
        self.changed_at = now
        return True

    # --- the state file -------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        def instant(value: datetime | None) -> str | None:
            return None if value is None else value.isoformat()

        return {
            "reference": self.reference,
            "kind": self.kind.value,
            "area": self.area,
            "state": self.state.value,
            "started_at": instant(self.started_at),
            "changed_at": instant(self.changed_at),
            "acknowledged_at": instant(self.acknowledged_at),
            "expected_restoration": instant(self.expected_restoration),
            "restored_at": instant(self.restored_at),
            "window_end": instant(self.window_end),
            "note": self.note,
            "ticket_keys": list(self.ticket_keys),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Incident:
        def instant(name: str) -> datetime | None:
            value = data.get(name)
            return None if value is None else datetime.fromisoformat(value)

        started, changed = instant("started_at"), instant("changed_at")
        assert started is not None and changed is not None
        return cls(
            reference=data["reference"],
            kind=OutageKind(data["kind"]),
            area=data["area"],
            state=IncidentState(data["state"]),
            started_at=started,
            changed_at=changed,
            acknowledged_at=instant("acknowledged_at"),
            expected_restoration=instant("expected_restoration"),
            restored_at=instant("restored_at"),
            window_end=instant("window_end"),
            note=data.get("note", ""),
            ticket_keys=list(data.get("ticket_keys", [])),
        )


def unknown_incident(reference: str) -> OperatorRejected:
    return OperatorRejected(f"sandbox: no incident {reference!r}", 404)
