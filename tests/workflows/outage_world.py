"""A small world for the outage tests: points of delivery in billing and in the sandbox DSO's
registry (same areas), reporters, the DSO's clock on the test server's time, and its status
pushes delivered as the webhook would (signal to the incident)."""

from __future__ import annotations

import io
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from stdnum.ean import calc_check_digit
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.outage_operator import operator_status
from adapters.operator.base import ContractType, IncidentStatus
from adapters.operator.sandbox import RegistryRow, SandboxOperator
from adapters.operator.simulation import DsoSimulation
from ebok.errors import NotFound
from ebok.store.db import Store
from facade.billing_import import import_partners
from facade.client import EbokClient
from tests.factories import HEADER, _pesel


def a_ppe(rng: random.Random) -> str:
    body = f"5903801{rng.randint(0, 10**10 - 1):010d}"
    return body + calc_check_digit(body)


def a_nip(rng: random.Random) -> str:
    while True:
        digits = f"{rng.randint(100, 999)}{rng.randint(0, 10**6 - 1):06d}"
        weights = (6, 5, 7, 2, 3, 4, 5, 6, 7)
        check = sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
        if check != 10:
            return digits + str(check)


def an_area() -> str:
    return f"T-{uuid.uuid4().hex[:8].upper()}"


class SkippedClock:
    """The DSO's clock, kept on the time-skipping server's time by :meth:`sync`."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    async def sync(self, env: WorkflowEnvironment) -> None:
        self.offset = max(await env.get_current_time() - datetime.now(UTC), timedelta(0))


@dataclass
class Point:
    ppe: str
    area: str
    partner: str
    account: str | None = None
    email: str = ""


@dataclass
class World:
    store: Store
    clock: SkippedClock = field(default_factory=SkippedClock)
    rows: list[RegistryRow] = field(default_factory=list)
    simulation: DsoSimulation = field(init=False)
    operator: SandboxOperator = field(init=False)
    ebok: EbokClient | None = None
    pushed: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        # DSO ids are unique for good; tests share one store, so each DSO counts from elsewhere.
        start = random.randrange(10**5, 10**6) * 1000
        self.simulation = DsoSimulation(clock=self.clock, on_status=self._push, next_number=start)
        self.operator = SandboxOperator([], simulation=self.simulation)

    async def _push(self, status: IncidentStatus) -> None:
        """The DSO's webhook: what the aiohttp endpoint does after verifying the signature."""
        if self.ebok is None:
            return
        try:
            await self.ebok.operator_status_changed(operator_status(status))
            self.pushed.append(status.state.value)
        except NotFound:  # not followed (yet): the poll will find it
            pass

    async def points(
        self, area: str, n: int = 1, *, household: bool = True, linked: bool = False
    ) -> list[Point]:
        """``n`` PPEs of fresh partners in ``area``, in billing and in the DSO's registry."""
        rng = random.Random(uuid.uuid4().int)
        points, lines = [], []
        kind = "household" if household else "business"
        for _ in range(n):
            partner = f"{rng.randint(10**9, 10**10 - 1)}"
            pesel = _pesel(rng)
            ppe = a_ppe(rng)
            account = f"{rng.randint(10**11, 10**12 - 1)}"
            nip, holder = ("", pesel) if household else (a_nip(rng), "")
            holder = holder or nip
            lines.append(
                f"{partner},Klient,{kind},{nip},{'' if nip else pesel},{account},{ppe},,{area},"
                "G11,,,\n"
            )
            self.rows.append(RegistryRow(ppe, holder, ContractType.DISTRIBUTION, area=area))
            points.append(Point(ppe, area, partner, email=f"r.{uuid.uuid4().hex[:10]}@example.pl"))
        report = await import_partners(self.store, io.StringIO(HEADER + "".join(lines)))
        assert not report.bad, report.bad
        self.operator = SandboxOperator(self.rows, simulation=self.simulation)
        if linked:
            for point in points:
                point.account, point.email = await _linked_account(self.store, point.partner)
        return points


async def _linked_account(store: Store, partner: str) -> tuple[str, str]:
    from tests.factories import an_account

    account, email = await an_account(store)
    async with store.begin() as uow:
        await uow.billing.link(account, partner, datetime.now(UTC), "ppe")
    return account, email


async def incident_history_events(client: Client, incident_id: str) -> list[int]:
    """Events per run of an incident, oldest run first (continue-as-new chains runs)."""
    counts: list[int] = []
    handle = client.get_workflow_handle(incident_id)
    run_id: str | None = (await handle.describe()).run_id
    seen: set[str] = set()
    # Walk back from the latest run through each run's first event (its predecessor).
    while run_id and run_id not in seen:
        seen.add(run_id)
        history = await client.get_workflow_handle(incident_id, run_id=run_id).fetch_history()
        counts.insert(0, len(history.events))
        attrs = history.events[0].workflow_execution_started_event_attributes
        run_id = attrs.continued_execution_run_id or None
    return counts
