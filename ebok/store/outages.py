"""Outage reports (with the reporter's contact data), incidents and compensation entitlements.

Every write is keyed so an activity that runs twice writes once: a report's ``open_key`` (one
open report per reporter and PPE), an incident's ``open_key`` (one incident collecting the
unexplained reports of an area) and ``dso_reference`` (one incident per DSO incident), and the
entitlement's (incident, PPE).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ebok.models.outage import Kind
from ebok.outage_compensation import STATUTORY_LIMITS, split_by_year, time_over_yearly
from ebok.store.dialect import insert_for, insert_of
from ebok.store.tables import bound
from ebok.store.tables import outage_compensations as comp
from ebok.store.tables import outage_incidents as inc
from ebok.store.tables import outage_interruptions as intr
from ebok.store.tables import outage_report_notes as notes
from ebok.store.tables import outage_reports as rep
from ebok.store.tables import outage_year_totals as years

__all__ = [
    "Entitlement",
    "NewReport",
    "OutageRepository",
    "Reporter",
    "ReportRecord",
    "YearTotals",
]


@dataclass(frozen=True)
class NewReport:
    id: str
    reporter_key: str
    account_id: str | None
    partner_number: str | None
    household: bool
    email: str | None
    phone: str | None
    language: str
    ppe: str
    area: str | None
    description: str
    reported_at: datetime

    @property
    def open_key(self) -> str:
        return f"{self.reporter_key}|{self.ppe}"


@dataclass(frozen=True)
class ReportRecord:
    id: str
    ppe: str
    area: str | None
    incident_id: str | None
    description: str
    email: str | None
    language: str
    household: bool
    partner_number: str | None
    reported_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True)
class Reporter:
    """One open report as the notification batches see it."""

    id: str
    email: str | None
    language: str
    ppe: str
    household: bool
    notice_serial: int


@dataclass(frozen=True)
class Entitlement:
    incident_id: str
    ppe: str
    report_id: str
    partner_number: str | None
    interruption_start: datetime
    interruption_end: datetime | None


@dataclass(frozen=True)
class YearTotals:
    """A PPE's interruptions of one calendar year, what the yearly limits are checked on."""

    ppe: str
    year: int
    planned: timedelta
    unplanned: timedelta


# The columns of each record, by its fields' names.
_REPORT = [rep.c[f] for f in ReportRecord.__dataclass_fields__]
_REPORTER = [rep.c[f] for f in Reporter.__dataclass_fields__]
_ENTITLEMENT = [comp.c[f] for f in Entitlement.__dataclass_fields__]


@functools.cache
def _new_report(dialect: str) -> Any:
    """The report's INSERT, built once: a storm of reports runs it hundreds of times a
    second, and building the statement cost about as much as running it."""
    columns = [*NewReport.__dataclass_fields__, "open_key", "notice_serial"]
    return (
        insert_of(dialect)(rep)
        .values(bound(rep, columns))
        .on_conflict_do_nothing(index_elements=[rep.c.open_key])
        .returning(rep.c.id)
    )


class OutageRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    # --- reports ------------------------------------------------------------------------------

    async def create_report(self, new: NewReport) -> tuple[str, bool]:
        """The open report of this reporter for this PPE: ``(id, True)`` if this call made it,
        ``(existing id, False)`` if one was open already and its incident has not ended. A
        report whose incident has ended makes way for a new one."""
        values = {k: getattr(new, k) for k in NewReport.__dataclass_fields__}
        made = await self._conn.execute(
            _new_report(self._conn.dialect.name),
            {**values, "open_key": new.open_key, "notice_serial": 0},
        )
        if made.first() is not None:
            return new.id, True
        found = await self._conn.execute(
            select(rep.c.id, inc.c.closed_at)
            .select_from(rep.outerjoin(inc, inc.c.id == rep.c.incident_id))
            .where(rep.c.open_key == new.open_key)
        )
        existing = found.first()
        if existing is None:  # closed between the two statements: try once more
            return await self.create_report(new)
        if existing.closed_at is not None:
            # Its incident has ended (restored, cancelled, closed): no power now is a new
            # failure. The old report stays with its incident until that one finishes (a
            # staff re-open still reaches it); it just no longer takes the customer's reports.
            await self._conn.execute(
                update(rep)
                .where(rep.c.id == existing.id, rep.c.open_key == new.open_key)
                .values(open_key=None)
            )
            return await self.create_report(new)
        return str(existing.id), False

    async def delete_report(self, report_id: str) -> None:
        await self._conn.execute(rep.delete().where(rep.c.id == report_id))

    async def report(self, report_id: str) -> ReportRecord | None:
        found = await self._conn.execute(select(*_REPORT).where(rep.c.id == report_id))
        row = found.mappings().first()
        return ReportRecord(**row) if row else None

    async def add_note(self, report_id: str, text: str, at: datetime) -> int:
        """The note's serial (1, 2, ...). Two at once: one fails on the key and is retried."""
        last = await self._conn.execute(
            select(func.coalesce(func.max(notes.c.serial), 0)).where(notes.c.report_id == report_id)
        )
        serial = int(last.scalar_one()) + 1
        await self._conn.execute(
            notes.insert().values(report_id=report_id, serial=serial, text=text, added_at=at)
        )
        return serial

    async def notes(self, report_id: str) -> list[str]:
        rows = await self._conn.execute(
            select(notes.c.text).where(notes.c.report_id == report_id).order_by(notes.c.serial)
        )
        return list(rows.scalars())

    async def attach(self, report_id: str, incident_id: str, area: str, at: datetime) -> None:
        await self._conn.execute(
            update(rep)
            .where(rep.c.id == report_id)
            .values(incident_id=incident_id, area=area, attached_at=at)
        )

    async def close_report(self, report_id: str, at: datetime, power_back: bool) -> str | None:
        """Close (once); the report's incident, so the caller can tell it."""
        values = {"closed_at": at, "open_key": None}
        if power_back:
            values["power_back_at"] = at
        await self._conn.execute(
            update(rep).where(rep.c.id == report_id, rep.c.closed_at.is_(None)).values(**values)
        )
        found = await self._conn.execute(select(rep.c.incident_id).where(rep.c.id == report_id))
        return found.scalar_one_or_none()

    # --- incidents ----------------------------------------------------------------------------

    async def area_incident(self, area: str, new_id: str, at: datetime) -> str:
        """The incident collecting the area's unexplained reports, made ``new_id`` if none."""
        await self._conn.execute(
            insert_for(self._conn)(inc)
            .values(id=new_id, area=area, open_key=area, phase="forming", opened_at=at)
            .on_conflict_do_nothing()
        )
        found = await self._conn.execute(select(inc.c.id).where(inc.c.open_key == area))
        return str(found.scalar_one())

    async def open_area_incident(self, area: str) -> str | None:
        found = await self._conn.execute(select(inc.c.id).where(inc.c.open_key == area))
        value = found.scalar_one_or_none()
        return str(value) if value is not None else None

    async def reference_incident(self, reference: str, area: str, new_id: str, at: datetime) -> str:
        """The incident following the DSO's ``reference``, made ``new_id`` if none."""
        await self._conn.execute(
            insert_for(self._conn)(inc)
            .values(id=new_id, area=area, dso_reference=reference, phase="forming", opened_at=at)
            .on_conflict_do_nothing()
        )
        found = await self._conn.execute(select(inc.c.id).where(inc.c.dso_reference == reference))
        return str(found.scalar_one())

    async def follow(self, incident_id: str, reference: str) -> str:
        """Record that ``incident_id`` follows ``reference``; the incident that does (another
        one, if it got there first)."""
        found = await self._conn.execute(
            select(inc.c.id, inc.c.closed_at).where(inc.c.dso_reference == reference)
        )
        owner = found.first()
        if owner is not None and (owner.id == incident_id or owner.closed_at is None):
            return str(owner.id)
        if owner is not None:  # ended on our side while the DSO still has it open: take over
            await self._conn.execute(
                update(inc).where(inc.c.id == owner.id).values(dso_reference=None)
            )
        await self._conn.execute(
            update(inc).where(inc.c.id == incident_id).values(dso_reference=reference)
        )
        return incident_id

    async def incident_of_reference(self, reference: str) -> str | None:
        found = await self._conn.execute(select(inc.c.id).where(inc.c.dso_reference == reference))
        value = found.scalar_one_or_none()
        return str(value) if value is not None else None

    async def release(self, incident_id: str, phase: str, at: datetime) -> None:
        await self._conn.execute(
            update(inc)
            .where(inc.c.id == incident_id)
            .values(open_key=None, phase=phase, closed_at=func.coalesce(inc.c.closed_at, at))
        )

    async def reopen(self, incident_id: str, phase: str) -> None:
        await self._conn.execute(
            update(inc).where(inc.c.id == incident_id).values(phase=phase, closed_at=None)
        )

    async def incident_open(self, incident_id: str) -> bool:
        found = await self._conn.execute(select(inc.c.closed_at).where(inc.c.id == incident_id))
        row = found.first()
        return row is not None and row.closed_at is None

    # --- reporters of an incident, in pages ---------------------------------------------------

    async def reporters(
        self, incident_id: str, *, below_serial: int, after: str, limit: int
    ) -> list[Reporter]:
        """Open reports of the incident not yet told notice ``below_serial``, by id."""
        rows = await self._conn.execute(
            select(*_REPORTER)
            .where(
                rep.c.incident_id == incident_id,
                rep.c.closed_at.is_(None),
                rep.c.notice_serial < below_serial,
                rep.c.id > after,
            )
            .order_by(rep.c.id)
            .limit(limit)
        )
        return [Reporter(**r) for r in rows.mappings()]

    async def mark_told(self, report_ids: list[str], serial: int) -> None:
        await self._conn.execute(
            update(rep)
            .where(rep.c.id.in_(report_ids), rep.c.notice_serial < serial)
            .values(notice_serial=serial)
        )

    async def open_report_ids(self, incident_id: str, *, after: str, limit: int) -> list[str]:
        rows = await self._conn.execute(
            select(rep.c.id)
            .where(rep.c.incident_id == incident_id, rep.c.closed_at.is_(None), rep.c.id > after)
            .order_by(rep.c.id)
            .limit(limit)
        )
        return list(rows.scalars())

    async def close_reports(self, report_ids: list[str], at: datetime) -> None:
        await self._conn.execute(
            update(rep)
            .where(rep.c.id.in_(report_ids), rep.c.closed_at.is_(None))
            .values(closed_at=at, open_key=None)
        )

    async def move_reports(self, source: str, target: str) -> int:
        """Merge: the open reports of ``source`` join ``target`` and hear its situation anew.
        Returns every report moved from ``source`` so far, so a repeated call counts the same."""
        await self._conn.execute(
            update(rep)
            .where(rep.c.incident_id == source, rep.c.closed_at.is_(None))
            .values(incident_id=target, moved_from=source, notice_serial=0)
        )
        moved = await self._conn.execute(
            select(func.count()).where(rep.c.incident_id == target, rep.c.moved_from == source)
        )
        return int(moved.scalar_one())

    # --- compensation -------------------------------------------------------------------------

    async def entitle(self, incident_id: str, start: datetime, at: datetime) -> int:
        """Record the entitlement of every open household report of the incident; a PPE
        already recorded for it is left as it is. Returns the rows written now."""
        rows = await self._conn.execute(
            select(rep.c.id, rep.c.ppe, rep.c.partner_number)
            .where(
                rep.c.incident_id == incident_id,
                rep.c.closed_at.is_(None),
                rep.c.household.is_(True),
            )
            .order_by(rep.c.id)
        )
        written = 0
        for report_id, ppe, partner in rows.all():
            made = await self._conn.execute(
                insert_for(self._conn)(comp)
                .values(
                    incident_id=incident_id,
                    ppe=ppe,
                    report_id=report_id,
                    partner_number=partner,
                    interruption_start=start,
                    recorded_at=at,
                )
                .on_conflict_do_nothing()
                .returning(comp.c.ppe)
            )
            written += made.first() is not None
        return written

    async def end_interruption(self, incident_id: str, end: datetime) -> int:
        """The end is recorded once: a later call (a re-opened incident) changes nothing."""
        done = await self._conn.execute(
            update(comp)
            .where(comp.c.incident_id == incident_id, comp.c.interruption_end.is_(None))
            .values(interruption_end=end)
            .returning(comp.c.ppe)
        )
        return len(done.all())

    async def entitlements(
        self, *, incident_id: str | None = None, ppe: str | None = None
    ) -> list[Entitlement]:
        query = select(*_ENTITLEMENT).order_by(comp.c.incident_id, comp.c.ppe)
        if incident_id is not None:
            query = query.where(comp.c.incident_id == incident_id)
        if ppe is not None:
            query = query.where(comp.c.ppe == ppe)
        found = await self._conn.execute(query)
        return [Entitlement(**r) for r in found.mappings()]

    # --- interruptions per PPE and their yearly totals ----------------------------------------

    async def record_interruption(
        self, incident_id: str, kind: str, start: datetime, end: datetime, at: datetime
    ) -> int:
        """Count the incident's interruption once for every PPE reported in it (whether its
        report is still open or not) towards that PPE's calendar-year totals. A household PPE
        whose year goes past the yearly limit with it is entitled to the bonifikata for this
        incident (the single limit is the incident's own rule). A PPE already counted for the
        incident is left as it is. Returns the PPEs counted now."""
        rows = await self._conn.execute(
            select(rep.c.ppe, rep.c.id, rep.c.partner_number, rep.c.household)
            .where(rep.c.incident_id == incident_id)
            .order_by(rep.c.ppe, rep.c.household.desc(), rep.c.id)
        )
        first_of_ppe: dict[str, Any] = {}
        for row in rows.all():
            first_of_ppe.setdefault(row.ppe, row)  # a household report first, if any
        counted = 0
        for ppe, report in first_of_ppe.items():
            made = await self._conn.execute(
                insert_for(self._conn)(intr)
                .values(
                    incident_id=incident_id,
                    ppe=ppe,
                    kind=kind,
                    started_at=start,
                    ended_at=end,
                    recorded_at=at,
                )
                .on_conflict_do_nothing()
                .returning(intr.c.ppe)
            )
            if made.first() is None:
                continue
            counted += 1
            parts = await self._add_to_years(ppe, kind, start, end)
            if report.household and time_over_yearly(parts, STATUTORY_LIMITS[Kind(kind)]):
                await self._conn.execute(
                    insert_for(self._conn)(comp)
                    .values(
                        incident_id=incident_id,
                        ppe=ppe,
                        report_id=report.id,
                        partner_number=report.partner_number,
                        interruption_start=start,
                        interruption_end=end,
                        recorded_at=at,
                    )
                    .on_conflict_do_nothing()
                )
        return counted

    async def _add_to_years(
        self, ppe: str, kind: str, start: datetime, end: datetime
    ) -> list[tuple[timedelta, timedelta]]:
        """Add the interruption to its years' totals; ``(part, total before it)`` per year."""
        column = years.c.planned_seconds if kind == "planned" else years.c.unplanned_seconds
        parts: list[tuple[timedelta, timedelta]] = []
        for year, part in split_by_year(start, end):
            await self._conn.execute(
                insert_for(self._conn)(years)
                .values(ppe=ppe, year=year, planned_seconds=0, unplanned_seconds=0)
                .on_conflict_do_nothing()
            )
            seconds = int(part.total_seconds())
            after = await self._conn.execute(
                update(years)
                .where(years.c.ppe == ppe, years.c.year == year)
                .values({column: column + seconds})
                .returning(column)
            )
            total = int(after.scalar_one())
            parts.append((timedelta(seconds=seconds), timedelta(seconds=total - seconds)))
        return parts

    async def year_totals(self, ppe: str, year: int) -> YearTotals:
        found = await self._conn.execute(
            select(years.c.planned_seconds, years.c.unplanned_seconds).where(
                years.c.ppe == ppe, years.c.year == year
            )
        )
        row = found.first()
        planned, unplanned = (row.planned_seconds, row.unplanned_seconds) if row else (0, 0)
        return YearTotals(
            ppe=ppe,
            year=year,
            planned=timedelta(seconds=planned),
            unplanned=timedelta(seconds=unplanned),
        )
