"""The at-least-once window of e-mail: the relay accepted a mail, its sender never knew."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from adapters.email.base import EmailUnavailable, OutgoingEmail, SendReceipt
from adapters.email.smtp import SmtpSender
from ebok.models import registration as m
from ebok.store.db import Store
from facade.client import EbokClient
from tests.conftest import make_settings, worker_for
from tests.faults.conftest import FaultLedger
from tests.faults.journeys import all_of, finished, registration_states, step_one, step_two
from tests.faults.mailbox import CountingSmtpServer, activation_id, welcome_id
from tests.mailbox import activation_token

pytestmark = pytest.mark.asyncio(loop_scope="session")

CUSTOMERS = 5


class AnswerLost:
    """Hands each mail to the real relay; for the Message-IDs in ``victims``, the first
    time, the relay's "250 accepted" is then lost (connection dropped, or the worker died
    before the activity could record the Message-ID)."""

    def __init__(
        self, inner: SmtpSender, victims: set[str], hold: asyncio.Event | None = None
    ) -> None:
        self.inner, self.victims, self.hold = inner, victims, hold

    async def send(self, mail: OutgoingEmail) -> SendReceipt:
        receipt = await self.inner.send(mail)
        if mail.message_id in self.victims:
            self.victims.discard(mail.message_id)
            if self.hold is not None:  # the failure surfaces only once this is set
                async with asyncio.timeout(30):
                    await self.hold.wait()
            raise EmailUnavailable("connection lost after the relay accepted the message")
        return receipt

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_accepted_mail_whose_answer_is_lost_is_sent_again(
    env: WorkflowEnvironment,
    sqlite_store: Store,
    sqlite_url: str,
    relay: CountingSmtpServer,
    ledger: FaultLedger,
) -> None:
    """Injects: for 5 registrations, the relay accepts the activation mail but the
    activity never learns it (the answer is lost: what a worker killed right after the
    relay's 250, or a connection dropped at that instant, looks like).

    Checks: the activity retries and the mail is delivered again under the same Message-ID
    — exactly twice, not more: SMTP gives at least once here, and the sent-mail log stops
    further copies — and the second copy is the same mail: the same link (the token is
    re-derived, not re-drawn), so the first copy's link activates and the second's then
    answers already used."""
    settings = make_settings(sqlite_url, relay.port, execution_timeout=timedelta(minutes=5))
    ebok = EbokClient(env.client, sqlite_store, settings)
    victims: set[str] = set()
    sender = AnswerLost(SmtpSender.from_settings(settings), victims)
    async with worker_for(env.client, settings, sqlite_store, email=sender):
        try:
            async with asyncio.timeout(60):
                ids = [await step_one(ebok, "window") for _ in range(CUSTOMERS)]
                victims.update(activation_id(rid) for rid in ids)
                await all_of(*(step_two(ebok, rid) for rid in ids))
                copies = [await relay.copies_at_least(activation_id(rid), 2) for rid in ids]
                assert not victims  # every victim's first send was hit
                tokens = [[activation_token(c) for c in pair] for pair in copies]
                first_links = [await ebok.activate(t[0]) for t in tokens]
                newest = [await ebok.activate(t[-1]) for t in tokens]
                results = await all_of(*(finished(env.client, relay, r) for r in ids))
        finally:
            await sender.aclose()
    twice = [relay.count(activation_id(rid)) for rid in ids]
    ledger.add(
        workflows=CUSTOMERS,
        faults=CUSTOMERS,
        lost=sum(r.status is not m.Status.ACTIVATED for r in results),
        duplicated=0,
        note=(
            f"relay answer lost after accept: {CUSTOMERS} registrations, copies per activation"
            f" mail {twice} (at-least-once by design; not counted as duplicated below);"
            f" links differ between copies: {sum(a != b for a, b in tokens)}/{CUSTOMERS};"
            f" first copy's link answers {sorted({o.value for o in first_links})}"
        ),
    )
    assert twice == [2] * CUSTOMERS
    assert all(str(c[0]["Message-ID"]) == str(c[1]["Message-ID"]) for c in copies)
    assert all(a == b for a, b in tokens)  # one link, whichever copy is opened
    assert first_links == [m.ActivationOutcome.ACTIVATED] * CUSTOMERS
    assert newest == [m.ActivationOutcome.ALREADY_USED] * CUSTOMERS
    assert [r.status for r in results] == [m.Status.ACTIVATED] * CUSTOMERS


async def test_answer_lost_after_the_customer_already_activated(
    env: WorkflowEnvironment,
    sqlite_store: Store,
    sqlite_url: str,
    relay: CountingSmtpServer,
    ledger: FaultLedger,
) -> None:
    """Injects: the relay accepts the activation mail, the customer follows its link at
    once, and only then does the activity learn of a failure (the answer was lost), so the
    retry runs after the activation.

    Checks: the activation stands — the workflow completes as activated, with exactly one
    account, the registration row stays activated — and the late retry sends nothing: no
    second copy, no "someone tried to register with your address" to the new owner."""
    settings = make_settings(sqlite_url, relay.port, execution_timeout=timedelta(minutes=5))
    ebok = EbokClient(env.client, sqlite_store, settings)
    victims: set[str] = set()
    activated = asyncio.Event()
    sender = AnswerLost(SmtpSender.from_settings(settings), victims, hold=activated)
    async with worker_for(env.client, settings, sqlite_store, email=sender):
        try:
            async with asyncio.timeout(60):
                rid = await step_one(ebok, "late")
                victims.add(activation_id(rid))
                await step_two(ebok, rid)
                (first,) = await relay.copies_at_least(activation_id(rid), 1)
                outcome = await ebok.activate(activation_token(first))
                activated.set()
                result = await finished(env.client, relay, rid)
                copies = await relay.copies_at_least(activation_id(rid), 1)
                again = await ebok.activate(activation_token(first))
        finally:
            await sender.aclose()
    async with sqlite_store.begin() as uow:
        account = await uow.accounts.get(rid)
    state = (await registration_states(sqlite_store, [rid]))[rid]
    ledger.add(
        workflows=1,
        faults=1,
        lost=int(result.status is not m.Status.ACTIVATED or account is None),
        duplicated=0,
        note=(
            f"relay answer lost after the customer activated: {len(copies)} copies of the"
            f" activation mail, subjects {[str(c['Subject']) for c in copies]};"
            f" registration row afterwards: {state!r}"
            f" (the workflow says {result.status.value!r}); the used link now answers"
            f" {again.value!r} (not counted as duplicated below)"
        ),
    )
    assert outcome is m.ActivationOutcome.ACTIVATED
    assert result.status is m.Status.ACTIVATED
    assert account is not None and account.status == "active"
    assert state == m.Status.ACTIVATED.value
    assert again is m.ActivationOutcome.ALREADY_USED
    assert relay.count(activation_id(rid)) == 1
    assert relay.count(welcome_id(rid)) == 1
