"""Partner linking, happy path: an activated account links a partner with one PPE using the
partner number, invoice number and gross amount; the grid operator (the sandbox adapter with
a registry written for the run) confirms the distribution contract; the link is recorded and
the "konto powiązane" mail arrives at the SMTP server.

Before the measured run, every iteration gets its own account (inserted into the store as
the tests do) and its own partner (one bulk import of a partner CSV), and the registry CSV
with every PPE is written before the worker starts: the timed part is the linking only.

Latencies: ``link`` (the ``link_partner`` call: account check, the process started, the
``link`` update with its match activity), ``finish`` (from the call until the workflow
completed) and ``mail`` (from the call until the mail arrived). The bare side records the
same names: start + ``link`` update, result, the notify activity's message.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import random
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from stdnum import ean
from stdnum.pl import pesel

from bench.bare import BareKey, BareLinking
from bench.harness import (
    Running,
    Stack,
    Timings,
    WorkerStarter,
    bare_worker,
    mirror_worker,
    our_worker,
)
from bench.inbox import Mailbox
from bench.scenarios import Scenario, register
from ebok.ids import STOEN_PPE_PREFIX
from ebok.models import linking as m
from ebok.store.db import Store
from ebok.store.registrations import RegistrationRecord
from facade.billing_import import COLUMNS, INVOICE_COLUMNS, import_partners
from facade.client import EbokClient, linking_workflow_id

MAIL_TIMEOUT = 30.0  # below the harness's per-iteration timeout, so the failure says which step
GROSS = "245,67"  # as printed on the invoice; the facade parses the Polish decimal comma
SUBJECT = "Konto powiązane"


@dataclass(frozen=True)
class Customer:
    account_id: str
    email: str
    partner_number: str
    pesel: str
    contract_account: str
    ppe: str
    invoice_number: str


def _customers(tag: str, count: int) -> list[Customer]:
    """``count`` distinct customers with valid check digits; numbers are consecutive from a
    random start, so they are unique within the run and unlikely to meet another run's."""
    rng = random.Random(uuid.uuid4().int)
    partner0 = rng.randrange(10**9, 9 * 10**9)
    account0 = rng.randrange(10**11, 9 * 10**11)
    ppe0 = rng.randrange(0, 9 * 10**9)
    out = []
    for i in range(count):
        ppe = f"{STOEN_PPE_PREFIX}{ppe0 + i:010d}"
        # Born 1950-1999 on a real date; the serial makes the numbers differ.
        birth = f"{50 + i % 50:02d}{1 + i % 12:02d}{1 + i % 28:02d}{rng.randrange(10**4):04d}"
        out.append(
            Customer(
                account_id=uuid.uuid4().hex,
                email=f"bench.{tag}.{i}@ebok.example.pl",
                partner_number=str(partner0 + i),
                pesel=birth + pesel.calc_check_digit(birth),
                contract_account=str(account0 + i),
                ppe=ppe + ean.calc_check_digit(ppe),
                invoice_number=f"FV/BENCH/{tag}/{i:06d}",
            )
        )
    return out


async def _load(store: Store, customers: list[Customer]) -> None:
    """Partners through the billing import (one file, as billing delivers them), accounts
    straight into the store as an activated registration leaves them."""
    today = datetime.now(UTC).date().isoformat()
    lines = [",".join((*COLUMNS, *INVOICE_COLUMNS))]
    for c in customers:
        lines.append(
            f"{c.partner_number},Klient Testowy,household,,{c.pesel},{c.contract_account},"
            f'{c.ppe},,WAW-MOKOTOW,G11,{c.invoice_number},"{GROSS}",{today}'
        )
    report = await import_partners(store, io.StringIO("\n".join(lines) + "\n"))
    if not report.ok:
        raise RuntimeError(f"partner import: {report.summary()}; first: {report.bad[0]}")
    now = datetime.now(UTC)
    async with store.begin() as uow:
        for c in customers:
            login = c.email.split("@")[0]
            record = RegistrationRecord(
                c.account_id, c.email, login, "x", "pl", "activated", "2026-01", now, now
            )
            await uow.registrations.add(c.account_id, c.email, login, "pl", "activated", now)
            await uow.accounts.create_from(record, now)


def _registry(path: Path, customers: list[Customer]) -> None:
    rows = [f"{c.ppe},{c.pesel},distribution,active" for c in customers]
    path.write_text("ppe,holder_id,contract_type,status\n" + "\n".join(rows) + "\n")


@contextlib.asynccontextmanager
async def ours(
    stack: Stack, planned: int, worker: WorkerStarter = our_worker
) -> AsyncIterator[Running]:
    customers = _customers(stack.tag, planned)
    with tempfile.TemporaryDirectory(prefix="ebok-bench-registry-") as folder:
        registry = Path(folder) / "registry.csv"
        _registry(registry, customers)
        settings = stack.settings(operator_adapter="sandbox", operator_registry=registry)
        # The facade gets its own pool, as the portal's back end would have beside the worker.
        store = Store.from_settings(settings)
        try:
            await _load(store, customers)
            async with Mailbox(stack.smtpd) as mailbox, worker(stack, settings) as pids:
                facade = EbokClient(stack.client, store, settings)

                async def one(i: int, timings: Timings) -> str:
                    c = customers[i]
                    mail = mailbox.expect(c.email)
                    began = time.perf_counter()
                    with timings.measure("link"):
                        answer = await facade.link_partner(
                            c.account_id,
                            c.partner_number,
                            invoice_number=c.invoice_number,
                            gross=GROSS,
                        )
                    if answer.outcome is not m.Outcome.CHECKING:
                        raise AssertionError(f"linking {i}: link answered {answer.outcome.value}")
                    workflow_id = linking_workflow_id(c.account_id)
                    handle = stack.client.get_workflow_handle(
                        workflow_id, result_type=m.LinkingStatus
                    )
                    with timings.measure("finish", since=began):
                        done = await handle.result()
                    if done.state is not m.State.LINKED:
                        raise AssertionError(f"linking {i}: ended {done.state.value}")
                    try:
                        async with asyncio.timeout(MAIL_TIMEOUT):
                            arrived = await mail
                    except TimeoutError:
                        raise AssertionError(
                            f"no mail within {MAIL_TIMEOUT:.0f} s for workflow {workflow_id}"
                        ) from None
                    subject = arrived.subject
                    if not subject.startswith(SUBJECT):
                        raise AssertionError(f"linking {i}: mail {subject!r}")
                    timings.add("mail", arrived.at - began)
                    return workflow_id

                yield Running(one, pids)
        finally:
            await store.aclose()


@contextlib.asynccontextmanager
async def mirror(stack: Stack, planned: int) -> AsyncIterator[Running]:
    """Our driver and activities, the bare mirror's workflow code (``bench.mirror_worker``)."""
    async with ours(stack, planned, mirror_worker) as running:
        yield running


@contextlib.asynccontextmanager
async def bare(stack: Stack, planned: int) -> AsyncIterator[Running]:
    async with bare_worker(stack) as worker:

        async def one(i: int, timings: Timings) -> str:
            workflow_id = f"bench-bare-link-{stack.tag}-{i}"
            key = BareKey(key=workflow_id)
            mail = worker.inbox.expect(workflow_id)
            began = time.perf_counter()
            with timings.measure("link"):
                handle = await stack.client.start_workflow(
                    BareLinking.run, key, id=workflow_id, task_queue=worker.task_queue
                )
                await handle.execute_update(BareLinking.link, key)
            with timings.measure("finish", since=began):
                await handle.result()
            async with asyncio.timeout(MAIL_TIMEOUT):
                arrived = await mail
            timings.add("mail", arrived.at - began)
            return workflow_id

        yield Running(one, worker.pids)


register(
    Scenario(
        name="linking",
        unit="links",
        ours=ours,
        mirror=mirror,
        bare=bare,
        latencies=("link", "mail"),
        description="link a partner by invoice data, operator confirms, link recorded, mail",
    )
)
