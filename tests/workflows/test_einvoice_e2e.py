"""E-invoice consent end to end on the dev server: real SMTP, real store (SQLite and
PostgreSQL), the token read from the mail as the customer's mail client shows it."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from ebok.errors import InvalidInput, NotFound, WrongState
from ebok.models import einvoice as m
from ebok.models.search import EBOK_DEADLINE, EBOK_PARTNER, EBOK_PROCESS, EBOK_STATUS
from ebok.settings import Settings
from ebok.store.db import Store
from entrypoints.devsmtp import DevSmtpServer
from facade.client import EbokClient, einvoice_workflow_id
from tests.conftest import worker_for
from tests.factories import a_linked_account, a_partner, an_account
from tests.histories import search_attribute_writes
from tests.mailbox import addressed_to, body, link_token

pytestmark = pytest.mark.asyncio(loop_scope="session")

TERMS = "2026-01"


def confirm_token(mail: Any) -> str:
    return link_token(mail, m.CONFIRM_PAGE)


async def test_request_confirm_withdraw_and_request_again(
    env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok_for: Any,
) -> None:
    ebok: EbokClient = ebok_for(env.client)
    account, email, partner = await a_linked_account(store)
    wid = einvoice_workflow_id(partner.number)
    async with worker_for(env.client, settings, store):
        pending = await ebok.request_einvoice(account, partner.number, TERMS, "mobile")
        assert pending.link_number == 1 and pending.resends_left == settings.einvoice_resend_limit
        (link_mail,) = addressed_to(await smtpd.wait_for(1), email)
        assert link_mail["Subject"] == "Potwierdź zgodę na e-fakturę"
        assert partner.number in body(link_mail)
        token = confirm_token(link_mail)

        waiting = await env.client.get_workflow_handle(wid).describe()
        attrs = waiting.typed_search_attributes
        assert attrs.get(EBOK_PROCESS) == "einvoice" and attrs.get(EBOK_PARTNER) == partner.number
        assert attrs.get(EBOK_STATUS) == "awaiting_confirmation"
        deadline = attrs.get(EBOK_DEADLINE)
        assert deadline is not None and deadline == pending.expires_at
        # The partner is known to the facade: set with the start, never upserted after.
        at_start, upserted = search_attribute_writes(
            await env.client.get_workflow_handle(wid).fetch_history()
        )
        assert "EbokPartner" in at_start and "EbokPartner" not in upserted
        async with store.begin() as uow:
            assert await uow.consents.active_for(partner.number) is None  # paper until confirmed

        assert await ebok.confirm_einvoice(token) is m.ConfirmOutcome.ACTIVE
        assert await ebok.confirm_einvoice(token) is m.ConfirmOutcome.ALREADY_USED  # single use
        status = await ebok.einvoice_status(partner.number)
        assert status.state is m.State.ACTIVE and status.consent_id == status.request_id
        async with store.begin() as uow:
            consent = await uow.consents.active_for(partner.number)
        assert consent is not None
        assert (consent.email, consent.account_id) == (email, account)
        assert (consent.terms_version, consent.channel) == (TERMS, "mobile")
        assert consent.granted_at == status.active_since
        assert consent.requested_at <= consent.granted_at
        active_mail = addressed_to(await smtpd.wait_for(2), email)[1]
        assert active_mail["Subject"] == "E-faktura aktywna"
        with pytest.raises(WrongState, match="already active"):
            await ebok.request_einvoice(account, partner.number, TERMS)

        stranger, _ = await an_account(store)
        with pytest.raises(InvalidInput) as refused:
            await ebok.withdraw_einvoice(partner.number, account_id=stranger)
        assert set(refused.value.errors) == {"partner_number"}

        withdrawn = await ebok.withdraw_einvoice(partner.number, "web", account_id=account)
        assert withdrawn.state is m.State.WITHDRAWN and withdrawn.withdrawn_at is not None
        async with store.begin() as uow:  # the next invoice already goes on paper
            assert await uow.consents.active_for(partner.number) is None
        closed = await env.client.get_workflow_handle(wid, result_type=m.EInvoiceStatus).result()
        assert closed.state is m.State.WITHDRAWN
        off_mail = addressed_to(await smtpd.wait_for(3), email)[2]
        assert off_mail["Subject"].startswith("E-faktura wyłączona")

        # A new cycle under the same id; the old link stays spent.
        again = await ebok.request_einvoice(account, partner.number, TERMS, "web")
        assert again.link_number == 1
        second_mail = addressed_to(await smtpd.wait_for(4), email)[3]
        second = confirm_token(second_mail)
        assert second != token
        assert await ebok.confirm_einvoice(token) is m.ConfirmOutcome.INVALID  # not this cycle's
        assert await ebok.confirm_einvoice(second) is m.ConfirmOutcome.ACTIVE
        await smtpd.wait_for(5)

        # Staff withdraw (as from the Temporal UI: the update with channel "staff").
        handle = env.client.get_workflow_handle(wid)
        by_staff = await handle.execute_update(
            "withdraw",
            m.Withdraw(channel="staff", by="anna.b", reason="customer phoned the hotline"),
            result_type=m.EInvoiceStatus,
        )
        assert by_staff.withdrawn_by == "anna.b" and "hotline" in by_staff.detail
        await handle.result()
        await smtpd.wait_for(6)
        # The closed run still answers `status` (from its history) for operators.
        assert (await ebok.einvoice_status(partner.number)).state is m.State.WITHDRAWN

    history = await ebok.einvoice_consents(partner.number)
    assert [c.channel for c in history] == ["mobile", "web"]
    assert [c.withdrawn_channel for c in history] == ["web", "staff"]
    assert all(not c.active for c in history)
    with pytest.raises(NotFound):  # nothing in force to withdraw
        await ebok.withdraw_einvoice(partner.number)


async def test_unlinked_account_is_refused_by_the_facade_and_by_the_workflow(
    env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok_for: Any,
) -> None:
    ebok: EbokClient = ebok_for(env.client)
    partner = await a_partner(store)
    account, _ = await an_account(store)
    async with worker_for(env.client, settings, store):
        with pytest.raises(InvalidInput) as refused:
            await ebok.request_einvoice(account, partner.number, TERMS)
        assert set(refused.value.errors) == {"partner_number"}
        with pytest.raises(NotFound):  # nothing was started
            await ebok.einvoice_status(partner.number)

        # A caller going around the facade (the UI, another language) meets the same rule.
        handle = await env.client.start_workflow(
            m.WORKFLOW_TYPE,
            m.EInvoiceInput(partner_number=partner.number, request_key=uuid.uuid4().hex[:16]),
            id=einvoice_workflow_id(partner.number),
            task_queue=settings.task_queue,
            execution_timeout=timedelta(minutes=5),
        )
        with pytest.raises(WorkflowUpdateFailedError) as failed:
            await handle.execute_update(
                "request",
                m.Request(account_id=account, terms_version=TERMS),
                result_type=m.ConfirmationPending,
            )
        cause = failed.value.cause
        assert isinstance(cause, ApplicationError) and cause.type == "NotLinked"
        assert (await handle.query("status", result_type=m.EInvoiceStatus)).state is m.State.NEW
        await handle.terminate("test over")
    assert smtpd.messages == []
