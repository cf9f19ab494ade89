"""E-mail change end to end on the dev server: real SMTP, real store (SQLite and PostgreSQL),
tokens read from the mails as the customer's mail client shows them."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.testing import WorkflowEnvironment

from ebok.errors import InvalidInput, WrongState
from ebok.models import email_change as m
from ebok.models.search import EBOK_DEADLINE, EBOK_PROCESS, EBOK_STATUS
from ebok.settings import Settings
from ebok.store.db import Store
from entrypoints.devsmtp import DevSmtpServer
from facade.client import EbokClient, email_change_workflow_id
from tests.conftest import worker_for
from tests.factories import a_linked_account, an_account
from tests.mailbox import addressed_to, body, link_token
from tests.sentinel import assert_unseen, visible_to_temporal, watch_logs

pytestmark = pytest.mark.asyncio(loop_scope="session")


def a_new_address() -> str:
    return f"Nowy.{uuid.uuid4().hex[:10]}@example.pl"


async def test_confirmed_change_takes_effect_then_undone_and_unlocked(
    env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok_for: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    watch_logs(caplog)
    ebok: EbokClient = ebok_for(env.client)
    account, old, partner = await a_linked_account(store)
    new = a_new_address()
    wid = email_change_workflow_id(account)
    handle = env.client.get_workflow_handle(wid, result_type=m.EmailChangeStatus)
    async with worker_for(env.client, settings, store):
        pending = await ebok.request_email_change(account, new)
        assert pending.link_number == 1
        (link_mail,) = addressed_to(await smtpd.wait_for(1), new)
        assert link_mail["Subject"] == "Potwierdź nowy adres e-mail w eBOK"
        token = link_token(link_mail, m.CONFIRM_PAGE)
        attrs = (await handle.describe()).typed_search_attributes
        assert attrs.get(EBOK_PROCESS) == "email_change"
        assert attrs.get(EBOK_STATUS) == "awaiting_confirmation"
        assert attrs.get(EBOK_DEADLINE) == pending.expires_at
        assert (await ebok.profile(account)).email == old  # not before the confirmation
        waiting = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
        assert "waiting for the new address to be confirmed" in waiting.current_details
        assert "(update `resend`)" in waiting.current_details

        assert await ebok.confirm_email_change(token) is m.ConfirmOutcome.CHANGED
        assert await ebok.confirm_email_change(token) is m.ConfirmOutcome.ALREADY_USED
        assert (await ebok.profile(account)).email == new
        (told,) = addressed_to(await smtpd.wait_for(2), old)
        assert told["Subject"] == "Adres e-mail konta w eBOK został zmieniony"
        assert f"N***@{new.split('@')[1]}" in body(told) and new not in body(told)
        undo = link_token(told, m.UNDO_PAGE)
        status = await ebok.email_change_status(account)
        assert status.state is m.State.CHANGED and status.undo_until is not None
        assert (await handle.describe()).typed_search_attributes.get(
            EBOK_DEADLINE
        ) == status.undo_until
        with pytest.raises(WrongState, match="may still be undone"):
            await ebok.request_email_change(account, a_new_address())

        # Later mails go to the new address.
        await ebok.request_einvoice(account, partner.number, settings.einvoice_terms_version)
        later = (await smtpd.wait_for(3))[2]
        assert later["To"] == new and later["Subject"] == "Potwierdź zgodę na e-fakturę"

        assert await ebok.undo_email_change(undo) is m.UndoOutcome.UNDONE
        assert await ebok.undo_email_change(undo) is m.UndoOutcome.ALREADY_USED
        profile = await ebok.profile(account)
        assert (profile.email, profile.status) == (old, "locked")
        mails = await smtpd.wait_for(5)
        locked = addressed_to(mails, old)[1]
        assert locked["Subject"].startswith("Zmiana adresu cofnięta")
        (staff,) = addressed_to(mails, settings.backoffice_email)
        assert wid in staff["Subject"] and "unlock" in body(staff)
        assert (await ebok.email_change_status(account)).state is m.State.LOCKED
        details = (
            await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
        ).current_details
        assert "LOCKED" in details and "update `unlock`" in details  # the UI's next step
        with pytest.raises(WrongState, match="locked"):
            await ebok.request_email_change(account, a_new_address())

        # Staff unlock after review, as from the Temporal UI.
        unlocked = await env.client.get_workflow_handle(wid).execute_update(
            "unlock",
            m.Unlock(staff="anna.b", reason="identity confirmed by phone"),
            result_type=m.EmailChangeStatus,
        )
        assert unlocked.state is m.State.UNLOCKED and unlocked.unlocked_by == "anna.b"
        assert (await handle.result()).state is m.State.UNLOCKED
        assert (await ebok.profile(account)).status == "active"
        raw, visible = await visible_to_temporal(handle, caplog)

    assert_unseen(
        visible,
        {"new address": new, "new lower-cased": new.lower(), "old address": old},
    )
    assert status.change_id.encode() in raw  # the check would see a leak


async def test_an_address_taken_meanwhile_changes_nothing(
    env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok_for: Any,
) -> None:
    ebok: EbokClient = ebok_for(env.client)
    account, old = await an_account(store)
    _, someone_else = await an_account(store)
    with pytest.raises(InvalidInput) as same:
        await ebok.request_email_change(account, old.upper())
    assert set(same.value.errors) == {"new_email"}
    with pytest.raises(InvalidInput) as bad:
        await ebok.request_email_change(account, "no-at-sign")
    assert set(bad.value.errors) == {"new_email"}
    async with worker_for(env.client, settings, store):
        # Answered like any other address (no enumeration); the confirmation then refuses.
        await ebok.request_email_change(account, someone_else)
        token = link_token((await smtpd.wait_for(1))[0], m.CONFIRM_PAGE)
        assert await ebok.confirm_email_change(token) is m.ConfirmOutcome.TAKEN
        handle = env.client.get_workflow_handle(
            email_change_workflow_id(account), result_type=m.EmailChangeStatus
        )
        assert (await handle.result()).state is m.State.TAKEN
    assert (await ebok.profile(account)).email == old


async def test_a_pending_change_is_cancelled_and_its_link_stops(
    env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok_for: Any,
) -> None:
    ebok: EbokClient = ebok_for(env.client)
    account, old = await an_account(store)
    async with worker_for(env.client, settings, store):
        await ebok.request_email_change(account, a_new_address())
        token = link_token((await smtpd.wait_for(1))[0], m.CONFIRM_PAGE)
        with pytest.raises(WrongState, match="waiting for confirmation"):
            await ebok.request_email_change(account, a_new_address())
        cancelled = await ebok.cancel_email_change(account, "anna.b", "asked by phone")
        assert cancelled.state is m.State.CANCELLED and "anna.b" in cancelled.detail
        handle = env.client.get_workflow_handle(email_change_workflow_id(account))
        await handle.result()
        assert await ebok.confirm_email_change(token) is m.ConfirmOutcome.INVALID
        # The next change starts afresh.
        again = await ebok.request_email_change(account, a_new_address())
        assert again.link_number == 1
        await smtpd.wait_for(2)
    assert (await ebok.profile(account)).email == old
