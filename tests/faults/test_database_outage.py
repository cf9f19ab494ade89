"""PostgreSQL unreachable from the worker for a while, then back."""

from __future__ import annotations

import asyncio
import random
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Select, func, select
from sqlalchemy.engine import make_url
from temporalio.testing import WorkflowEnvironment

from adapters.operator.base import ContractType
from adapters.operator.sandbox import SandboxOperator
from ebok.models import linking as lm
from ebok.models import registration as m
from ebok.store.db import Store, UnitOfWork
from ebok.store.tables import accounts, one_time_tokens, partner_links, registrations, sent_mail
from facade.client import EbokClient, linking_workflow_id, registration_workflow_id
from tests.conftest import make_settings, worker_for
from tests.factories import Partner, a_partner, an_account
from tests.faults.conftest import FaultLedger
from tests.faults.journeys import (
    activate_by_mail,
    all_of,
    finished,
    interruptions,
    step_one,
    step_two,
)
from tests.faults.mailbox import CountingSmtpServer, activation_id, welcome_id
from tests.faults.tcp_proxy import TcpProxy
from tests.mailbox import activation_token

pytestmark = pytest.mark.asyncio(loop_scope="session")

CUSTOMERS = 30  # registrations: half start before the outage, half during it
CONFIRMED, COMPREHENSIVE = 8, 3  # linking attempts; the operator refuses the comprehensive


async def rows(uow: UnitOfWork, query: Select[Any]) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in await uow.conn.execute(query)]


async def test_worker_loses_its_database_for_seconds(
    env: WorkflowEnvironment,
    postgres_database: str,
    pg_store: Store,
    pg_proxy: TcpProxy,
    relay: CountingSmtpServer,
    ledger: FaultLedger,
) -> None:
    """Injects: the worker reaches PostgreSQL through a TCP proxy, which resets every open
    connection and every new one for 5-10 s while 30 registrations run end to end and 11
    partner-linking attempts are made (some before the outage, some during it). PostgreSQL
    only: SQLite is a file in the worker's process, with no connection to cut.

    Checks: the activities retry and every workflow completes — registrations activated,
    linkings linked (operator confirms) or rejected (comprehensive contract) — and nothing
    is half-written: each activated registration has exactly one account and exactly one
    activation token, used; its sent-mail log holds the activation and welcome Message-IDs
    only; a partner link exists exactly for the linkings that say linked; every customer
    gets one linking mail. Mails the relay accepted while the record of them could not be
    written are sent again (at-least-once): they are counted and must fall in the outage."""
    rng = random.Random()
    outage = rng.uniform(5, 10)
    proxy_url = (
        make_url(postgres_database)
        .set(host="127.0.0.1", port=pg_proxy.port)
        .render_as_string(hide_password=False)
    )
    partners: list[Partner] = [await a_partner(pg_store) for _ in range(CONFIRMED)]
    partners += [
        await a_partner(pg_store, ContractType.COMPREHENSIVE) for _ in range(COMPREHENSIVE)
    ]
    holders = [await an_account(pg_store) for _ in partners]
    operator = SandboxOperator([row for p in partners for row in p.registry])
    settings = make_settings(proxy_url, relay.port, execution_timeout=timedelta(minutes=5))
    ebok = EbokClient(env.client, pg_store, settings)
    worker_store = Store.from_url(proxy_url)
    ids: list[str] = []
    stale: list[str] = []

    async def customer(delay: float) -> m.RegistrationStatus:
        await asyncio.sleep(delay)
        rid = await step_one(ebok, "dbout")
        ids.append(rid)
        await step_two(ebok, rid)
        outcome = await activate_by_mail(ebok, relay, rid)
        if outcome is m.ActivationOutcome.INVALID:
            # See test_send_window: mailed again under a new link; follow the newer mail.
            stale.append(rid)
            mails = await relay.copies_at_least(activation_id(rid), 2)
            outcome = await ebok.activate(activation_token(mails[-1]))
        assert outcome is m.ActivationOutcome.ACTIVATED, f"{rid}: {outcome}"
        return await finished(env.client, relay, rid)

    async def linking(delay: float, partner: Partner, account: str) -> lm.LinkingStatus:
        await asyncio.sleep(delay)
        invoice, gross = partner.invoices[0]
        answer = await ebok.link_partner(
            account, partner.number, invoice_number=invoice, gross=gross
        )
        assert answer.outcome is lm.Outcome.CHECKING
        handle = env.client.get_workflow_handle(
            linking_workflow_id(account), result_type=lm.LinkingStatus
        )
        verdict: lm.LinkingStatus = await handle.result()
        return verdict

    block_at = rng.uniform(0.5, 1.5)
    try:
        async with worker_for(env.client, settings, worker_store, operator=operator):
            async with asyncio.timeout(120):
                regs = all_of(*(customer(block_at * i * 2 / CUSTOMERS) for i in range(CUSTOMERS)))
                links = all_of(
                    *(
                        linking(block_at * i * 2 / len(partners), p, acc)
                        for i, (p, (acc, _)) in enumerate(zip(partners, holders, strict=True))
                    )
                )

                async def outage_now() -> tuple[float, float]:
                    await asyncio.sleep(block_at)
                    pg_proxy.block()
                    start = time.monotonic()
                    await asyncio.sleep(outage)
                    pg_proxy.unblock()
                    return start, time.monotonic()

                async with asyncio.TaskGroup() as group:  # a failure cancels the others
                    window = group.create_task(outage_now())
                    reg_task, link_task = group.create_task(regs), group.create_task(links)
                (_, unblocked), results = window.result(), reg_task.result()
                verdicts = link_task.result()
                recovered = time.monotonic() - unblocked
    finally:
        await worker_store.aclose()

    seen = await interruptions(
        env.client,
        [registration_workflow_id(r) for r in ids] + [linking_workflow_id(a) for a, _ in holders],
    )
    twice = relay.duplicates()
    lost = sum(r.status is not m.Status.ACTIVATED for r in results) + sum(
        v.state not in (lm.State.LINKED, lm.State.REJECTED) for v in verdicts
    )
    async with pg_store.begin() as uow:
        statuses = dict(
            await rows(
                uow,
                select(registrations.c.id, registrations.c.status).where(
                    registrations.c.id.in_(ids)
                ),
            )
        )
        account_rows = dict(
            await rows(
                uow,
                select(accounts.c.registration_id, func.count())
                .where(accounts.c.registration_id.in_(ids))
                .group_by(accounts.c.registration_id),
            )
        )
        tokens = await rows(
            uow,
            select(
                one_time_tokens.c.subject_id,
                one_time_tokens.c.used_at,
                one_time_tokens.c.revoked_at,
            ).where(one_time_tokens.c.subject_id.in_(ids)),
        )
        logged = await rows(
            uow,
            select(sent_mail.c.subject_id, sent_mail.c.message_id).where(
                sent_mail.c.subject_id.in_(ids)
            ),
        )
        linked = await rows(
            uow,
            select(partner_links.c.account_id, partner_links.c.partner_number).where(
                partner_links.c.account_id.in_([a for a, _ in holders])
            ),
        )

    regressed = sorted(rid for rid, state in statuses.items() if state != m.Status.ACTIVATED)
    ledger.add(
        workflows=len(ids) + len(holders),
        faults=1,
        lost=lost,
        duplicated=sum(n - 1 for n in twice.values()),
        note=(
            f"database outage {outage:.1f} s: {len(ids)} registrations, {len(holders)} linkings;"
            f" {pg_proxy.dropped} connections cut, {pg_proxy.refused} refused; all done"
            f" {recovered:.1f} s after; retried activities {dict(seen.retried or {})};"
            f" delivered twice: {len(twice)}, first link dead: {len(stale)}, row left at"
            f" awaiting_activation: {len(regressed)}"
        ),
    )
    assert lost == 0 and seen.not_completed == 0
    assert pg_proxy.refused > 0, "the worker never tried the database during the outage"
    assert seen.retried, "no activity met the outage"
    assert [v.state for v in verdicts] == [lm.State.LINKED] * CONFIRMED + [
        lm.State.REJECTED
    ] * COMPREHENSIVE

    assert set(statuses) == set(ids)
    assert not regressed  # no late retry put a row back to awaiting_activation
    assert account_rows == {rid: 1 for rid in ids}
    assert sorted(s for s, _, _ in tokens) == sorted(ids)  # one token per registration
    assert all(used is not None and revoked is None for _, used, revoked in tokens)
    assert sorted(logged) == sorted(
        (rid, mid) for rid in ids for mid in (activation_id(rid), welcome_id(rid))
    )
    assert sorted(linked) == sorted(
        (acc, p.number)
        for p, (acc, _), v in zip(partners, holders, verdicts, strict=True)
        if v.state is lm.State.LINKED
    )
    for _, email in holders:  # one linking mail each (copies counted with `twice`)
        assert len({str(msg["Message-ID"]) for msg in relay.messages if msg["To"] == email}) == 1
    for rid in ids:
        assert relay.count(welcome_id(rid)) >= 1
    # The outage is shorter than delivery's patience for recording a sent mail (40 s), so
    # nothing went out twice, and no mailed link was replaced.
    assert twice == {}, {mid: relay.arrivals[mid] for mid in twice}
    assert not stale
