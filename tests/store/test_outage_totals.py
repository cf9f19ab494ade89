"""Interruptions counted per PPE on SQLite and PostgreSQL: once per incident however often the
activity runs, added up per calendar year, split over New Year; and a report whose incident
has ended makes way for a new one."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from ebok.ids import opaque_id
from ebok.models.outage import Kind
from ebok.outage_compensation import STATUTORY_LIMITS, time_over_limit
from ebok.store.db import Store
from ebok.store.outages import NewReport
from tests.store.test_billing import a_ppe

T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
H = timedelta(hours=1)


def a_report(ppe: str, reporter: str, at: datetime = T0) -> NewReport:
    return NewReport(
        id=opaque_id("outage"),
        reporter_key=reporter,
        account_id=None,
        partner_number=None,
        household=True,
        email="jan@example.pl",
        phone=None,
        language="pl",
        ppe=ppe,
        area="T-AREA",
        description="Brak prądu",
        reported_at=at,
    )


async def an_incident_with(store: Store, *ppes: str) -> str:
    incident = f"incident-T-{uuid.uuid4().hex}"
    async with store.begin() as uow:
        for ppe in ppes:
            report_id, created = await uow.outages.create_report(
                a_report(ppe, f"contact:{uuid.uuid4().hex}@example.pl")
            )
            assert created
            await uow.outages.attach(report_id, incident, "T-AREA", T0)
    return incident


async def test_an_interruption_counts_once_per_ppe_and_incident(store: Store) -> None:
    home, shop = a_ppe(), a_ppe()
    first = await an_incident_with(store, home, shop)
    async with store.begin() as uow:
        counted = await uow.outages.record_interruption(
            first, "unplanned", T0, T0 + 20 * H, T0 + 20 * H
        )
        again = await uow.outages.record_interruption(
            first, "unplanned", T0, T0 + 20 * H, T0 + 21 * H
        )
    assert (counted, again) == (2, 0)
    second = await an_incident_with(store, home)
    later = T0 + timedelta(days=30)
    async with store.begin() as uow:
        before = await uow.outages.year_totals(home, 2026)
        await uow.outages.record_interruption(second, "unplanned", later, later + 30 * H, later)
        await uow.outages.record_interruption(second, "planned", later, later + 2 * H, later)
        after = await uow.outages.year_totals(home, 2026)
        other = await uow.outages.year_totals(shop, 2026)
        none = await uow.outages.entitlements(incident_id=first)
        entitled = await uow.outages.entitlements(incident_id=second)
    # Past the year's 48 h with the second incident: entitled for it, with its times.
    assert none == [] and [(e.ppe, e.interruption_end) for e in entitled] == [
        (home, later + 30 * H)
    ]
    assert before.unplanned == 20 * H and before.planned == timedelta(0)
    # The second incident's PPE was counted for it once, as unplanned (the first call won).
    assert after.unplanned == 50 * H and after.planned == timedelta(0)
    assert other.unplanned == 20 * H
    # The year's 48 h are crossed by the second incident: its last 2 h, within its own 6 h
    # over the single limit.
    limits = STATUTORY_LIMITS[Kind.UNPLANNED]
    assert time_over_limit(30 * H, before.unplanned, limits) == 6 * H


async def test_an_interruption_over_new_year_counts_in_both_years(store: Store) -> None:
    ppe = a_ppe()
    incident = await an_incident_with(store, ppe)
    start = datetime(2026, 12, 31, 20, 0, tzinfo=UTC)  # 21:00 in Warsaw
    async with store.begin() as uow:
        await uow.outages.record_interruption(incident, "planned", start, start + 5 * H, start)
        old, new = (
            await uow.outages.year_totals(ppe, 2026),
            await uow.outages.year_totals(ppe, 2027),
        )
    assert (old.planned, new.planned) == (3 * H, 2 * H)


async def test_a_report_whose_incident_has_ended_makes_way_for_a_new_one(store: Store) -> None:
    ppe, reporter = a_ppe(), f"contact:{uuid.uuid4().hex}@example.pl"
    incident = f"incident-T-{uuid.uuid4().hex}"
    async with store.begin() as uow:
        await uow.outages.area_incident(f"T-{uuid.uuid4().hex[:8]}", incident, T0)
        old_id, _ = await uow.outages.create_report(a_report(ppe, reporter))
        await uow.outages.attach(old_id, incident, "T-AREA", T0)
        same, created = await uow.outages.create_report(a_report(ppe, reporter))
        assert (same, created) == (old_id, False)  # the incident is going: a duplicate
        await uow.outages.release(incident, "restored", T0 + H)
        new_id, created = await uow.outages.create_report(a_report(ppe, reporter, T0 + 2 * H))
        assert created and new_id != old_id
        again, created = await uow.outages.create_report(a_report(ppe, reporter, T0 + 3 * H))
        assert (again, created) == (new_id, False)  # not attached yet: the new one's duplicate
        old = await uow.outages.report(old_id)
    assert old is not None and old.closed_at is None and old.incident_id == incident
