"""Account deletion activities: the confirmation link, the customer's mails, ending the
account's open processes through their own messages, and the erasure. Each is safe to run
twice: mails by Message-ID, the erasure finds nothing left, ended processes are closed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import or_, select
from temporalio import activity
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities.delivery import deliver
from activities.links import LinkMailing, issue_link, redeem_link
from activities.mail import local_time, message_id
from ebok.models import deletion as m
from ebok.models import einvoice as einvoice_m
from ebok.models import email_change as email_change_m
from ebok.models import linking as linking_m
from ebok.models import outage as outage_m
from ebok.models import registration as registration_m
from ebok.store import tables as t
from ebok.store.accounts import AccountRecord
from ebok.store.db import UnitOfWork
from ebok.store.personal_data import erase_account, owner_of, reports_of
from ebok.store.tokens import TokenState

__all__ = ["DeletionActivities"]

log = logging.getLogger(__name__)

ACCOUNT_GONE = "AccountGone"
# How long an ended process may take to close (its last mail, say) before the erasure.
CLOSE_PATIENCE = 120.0
BY = "account-deletion"

_OUTCOMES = {
    TokenState.REDEEMED: m.ConfirmOutcome.SCHEDULED,
    TokenState.EXPIRED: m.ConfirmOutcome.EXPIRED,
    TokenState.INVALID: m.ConfirmOutcome.INVALID,
    TokenState.ALREADY_USED: m.ConfirmOutcome.ALREADY_USED,
}


class DeletionActivities(LinkMailing):
    @activity.defn(name=m.SEND_LINK)
    async def send_link(self, req: m.SendLink) -> m.LinkMailed:
        """Issue link number N of the account's deletion (older ones stop working) and mail
        it to the account's address."""
        mid = message_id("deletion-link", req.account_id, req.serial, self._composer.domain)
        async with self._store.begin() as uow:
            if await uow.mail.was_sent(mid):
                return m.LinkMailed(message_id=mid)
            account = await _account(uow, req.account_id)
            link = await issue_link(
                uow,
                self._settings,
                purpose=m.LINK_PURPOSE,
                page=m.CONFIRM_PAGE,
                subject_id=req.account_id,
                serial=req.serial,
                issued_at=req.issued_at,
                expires_at=req.expires_at,
            )
        # Committed first: the link must work the moment the mail lands.
        mail = self._composer.compose(
            "deletion_confirm",
            account.language,
            account.email,
            mid,
            login=account.login,
            link=link,
            expires_at=local_time(req.expires_at),
            cooling_off_days=self._settings.deletion_cooling_off.days,
        )
        await deliver(self._store, self._email, mail, "deletion-link", req.account_id)
        return m.LinkMailed(message_id=mid)

    @activity.defn(name=m.REDEEM)
    async def redeem(self, req: m.Redeem) -> m.Redeemed:
        async with self._store.begin() as uow:
            used = await redeem_link(
                uow, m.LINK_PURPOSE, req.token_hash, req.at, req.redemption_id, req.account_id
            )
        return m.Redeemed(outcome=_OUTCOMES[used.state])

    @activity.defn(name=m.NOTIFY)
    async def notify(self, req: m.Notify) -> m.LinkMailed:
        """ "Deletion scheduled on DATE, sign in to cancel", or "account deleted" (before the
        address is erased)."""
        mid = message_id(f"deletion-{req.kind}", req.account_id, req.serial, self._composer.domain)
        async with self._store.begin() as uow:
            if await uow.mail.was_sent(mid):
                return m.LinkMailed(message_id=mid)
            account = await _account(uow, req.account_id)
            partners = await uow.billing.partners_of_account(req.account_id)
        mail = self._composer.compose(
            f"deletion_{req.kind}",
            account.language,
            account.email,
            mid,
            login=account.login,
            erase_at=local_time(req.erase_at),
            sign_in_link=self._settings.link("logowanie"),
            partners=sorted(partners),
        )
        await deliver(self._store, self._email, mail, f"deletion-{req.kind}", req.account_id)
        return m.LinkMailed(message_id=mid)

    @activity.defn(name=m.END_PROCESSES)
    async def end_processes(self, req: m.EndProcesses) -> m.ProcessesEnded:
        """End every open process of the account by its own message, then wait for each to
        close, so none writes or mails after the erasure."""
        client = activity.client()
        async with self._store.begin() as uow:
            partners = set(await uow.billing.partners_of_account(req.account_id))
            owner = await owner_of(uow.conn, req.account_id)
            consents = await uow.conn.execute(
                select(t.einvoice_consents.c.partner_number).where(
                    t.einvoice_consents.c.account_id == req.account_id,
                    t.einvoice_consents.c.withdrawn_at.is_(None),
                )
            )
            partners.update(consents.scalars().all())
            r = t.outage_reports.c
            reports = []
            if owner is not None:
                # Open ones, and those this activity closed on an earlier attempt (at the
                # same time), whose workflows may not have had their signal yet.
                found = await uow.conn.execute(
                    select(r.id, r.incident_id).where(
                        reports_of(owner), or_(r.closed_at.is_(None), r.closed_at == req.at)
                    )
                )
                reports = list(found.all())
                for report in reports:  # the incident's notices skip closed reports
                    await uow.outages.close_report(report.id, req.at, power_back=False)
        ended: list[str] = []
        for wid, end in [
            (registration_m.ID_PREFIX + req.account_id, _end_registration),
            (linking_m.ID_PREFIX + req.account_id, _end_linking),
            (email_change_m.ID_PREFIX + req.account_id, _end_email_change),
            *[(einvoice_m.ID_PREFIX + p, _end_einvoice(req.account_id)) for p in sorted(partners)],
        ]:
            how = await _when_running(client, wid, end)
            if how:
                ended.append(f"{wid}: {how}")
        for report in reports:
            how = await _when_running(client, report.id, _end_report(report.incident_id))
            if how:
                ended.append(f"{report.id}: {how}")
        return m.ProcessesEnded(ended=ended)

    @activity.defn(name=m.ERASE)
    async def erase(self, req: m.Erase) -> m.Erased:
        """One transaction over the registry (ebok/store/personal_data.py); a retry after the
        commit finds no account and erases nothing."""
        async with self._store.begin() as uow:
            owner = await owner_of(uow.conn, req.account_id)
            if owner is None:
                return m.Erased(rows={})
            return m.Erased(rows=await erase_account(uow.conn, owner, req.at))

    @activity.defn(name=m.CLOSE)
    async def close(self, req: m.CloseRequest) -> None:
        async with self._store.begin() as uow:
            await uow.tokens.revoke_all(m.LINK_PURPOSE, req.account_id, req.at)


# --- ending other processes ---------------------------------------------------------------------

# Ends one process: what was done ("" for nothing of ours to end).
Ender = Callable[[WorkflowHandle[Any, Any]], Awaitable[str]]


async def _when_running(client: Client, workflow_id: str, end: Ender) -> str:
    handle = client.get_workflow_handle(workflow_id)
    try:
        description = await handle.describe()
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            return ""
        raise
    if description.status != WorkflowExecutionStatus.RUNNING:
        return ""
    how: str = await end(handle)
    await _closed(handle)
    return how


async def _closed(handle: WorkflowHandle[Any, Any]) -> None:
    """Wait until the run has closed, however it ended."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CLOSE_PATIENCE
    while (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
        if loop.time() > deadline:
            raise ApplicationError(f"{handle.id} has not closed yet")  # retried
        activity.heartbeat()
        await asyncio.sleep(0.5)


async def _quietly(call: Awaitable[Any]) -> bool:
    """An update the process refuses (it moved on meanwhile) is no error here."""
    try:
        await call
        return True
    except WorkflowUpdateFailedError as err:  # refused by its validator, or failed
        log.info("update refused: %s", type(err.cause).__name__)
        return False


async def _end_registration(handle: WorkflowHandle[Any, Any]) -> str:
    cancel = registration_m.Cancel(reason="account deletion")
    if await _quietly(handle.execute_update("cancel", cancel)):
        return "cancelled (update cancel)"
    return ""


async def _end_linking(handle: WorkflowHandle[Any, Any]) -> str:
    status = await handle.query("status", result_type=linking_m.LinkingStatus)
    if status.state == linking_m.State.AWAITING_STAFF:
        decision = linking_m.StaffDecision(reason="the account is being deleted", staff=BY)
        if await _quietly(handle.execute_update("reject", decision)):
            return "rejected (update reject)"
    # Waiting for an attempt, locked or asking the operator: it has no message to end it,
    # and nothing of it is recorded until a link is, so it is cancelled.
    await handle.cancel()
    return "cancelled (workflow cancellation)"


async def _end_email_change(handle: WorkflowHandle[Any, Any]) -> str:
    cancel = email_change_m.Cancel(by=BY, reason="account deletion")
    if await _quietly(handle.execute_update("cancel", cancel)):
        return "cancelled (update cancel)"
    # Changed and in its undo window, or locked for staff: no message ends it early, and the
    # account it would act on is about to go, so it is cancelled.
    await handle.cancel()
    return "cancelled (workflow cancellation)"


def _end_einvoice(account_id: str) -> Ender:
    async def end(handle: WorkflowHandle[Any, Any]) -> str:
        status = await handle.query("status", result_type=einvoice_m.EInvoiceStatus)
        if status.account_id != account_id:
            return ""  # another account of the partner asked; not ours to end
        if status.state == einvoice_m.State.ACTIVE:
            withdraw = einvoice_m.Withdraw(channel="staff", by=BY, reason="account deleted")
            if await _quietly(handle.execute_update("withdraw", withdraw)):
                return "withdrawn (update withdraw)"
            return ""
        await handle.cancel()  # a request waiting for its link: nothing recorded yet
        return "cancelled (workflow cancellation)"

    return end


def _end_report(incident_id: str | None) -> Ender:
    async def end(handle: WorkflowHandle[Any, Any]) -> str:
        if incident_id is None:  # still being located: no incident to name
            await handle.cancel()
            return "cancelled (workflow cancellation)"
        # Closed in the store above; the report's own signal ends its workflow as "closed".
        closed = outage_m.IncidentClosed(incident_id=incident_id, phase=outage_m.Phase.CLOSED)
        await handle.signal("incident_closed", closed)
        return "closed (signal incident_closed)"

    return end


async def _account(uow: UnitOfWork, account_id: str) -> AccountRecord:
    account = await uow.accounts.get(account_id)
    if account is None:
        raise ApplicationError("no such account", type=ACCOUNT_GONE, non_retryable=True)
    return account
