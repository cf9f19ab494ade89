"""Account deletion and the data export through the facade (GDPR art. 17, 15 and 20).

Deletion: ``request_deletion`` mails a confirmation link; ``confirm_deletion`` (the link)
schedules the erasure after the cooling-off; ``cancel_deletion_on_sign_in`` is what sign-in
calls, and stops a deletion in progress. One request is one run of ``deletion-<account id>``.

Export: ``export_account_data`` reads every section of ebok/store/personal_data.py's registry
in one transaction.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from pydantic import TypeAdapter
from sqlalchemy import func, select
from temporalio.client import WorkflowFailureError
from temporalio.service import RPCError, RPCStatusCode

from ebok.errors import NotFound, WrongState
from ebok.models import deletion as m
from ebok.models.registration import RegistrationId
from ebok.store import tables as t
from ebok.store.personal_data import REGISTRY, export_account, owner_of
from ebok.store.tokens import TokenState
from facade.base import FacadeBase, checked, validate
from facade.links import follow, state_after_close

__all__ = ["DeletionFacade", "deletion_workflow_id"]

_ACCOUNT: TypeAdapter[str] = TypeAdapter(RegistrationId)
# How long a request waits for the previous request's run to close.
_CLOSING_PATIENCE = 30.0


def deletion_workflow_id(account_id: str) -> str:
    return m.ID_PREFIX + checked(_ACCOUNT, "account_id", account_id)


class DeletionFacade(FacadeBase):
    async def request_deletion(self, account_id: str, channel: str = "web") -> m.DeletionPending:
        """Ask to delete the account; the confirmation link goes to its address. Again while
        a link is pending: a new link (RateLimited within the cooldown). WrongState once the
        deletion is confirmed."""
        workflow_id = deletion_workflow_id(account_id)
        req: m.Request = validate(m.Request, channel=channel)
        async with self.store.begin() as uow:
            if await uow.accounts.get(account_id) is None:
                raise NotFound("no such account")
            # Serials of this request's links follow those of the account's earlier ones.
            c = t.one_time_tokens.c
            last = await uow.conn.execute(
                select(func.max(c.serial)).where(
                    c.purpose == m.LINK_PURPOSE, c.subject_id == account_id
                )
            )
            first_serial = (last.scalar_one_or_none() or 0) + 1
        try:
            return await self._request_deletion(account_id, workflow_id, req, first_serial)
        except WrongState:
            if not await self._closing(workflow_id):
                raise
        return await self._request_deletion(account_id, workflow_id, req, first_serial)

    async def confirm_deletion(self, token: str) -> m.ConfirmAnswer:
        """Follow a confirmation link. Anything unknown, malformed or replaced is ``invalid``."""
        link = await follow(self.store, m.LINK_PURPOSE, token)
        if link is None:
            return m.ConfirmAnswer(outcome=m.ConfirmOutcome.INVALID)
        workflow_id = deletion_workflow_id(link.subject_id)
        try:
            return await self._update(
                workflow_id, "confirm", m.Confirm(token_hash=link.token_hash), m.ConfirmAnswer
            )
        except (NotFound, WrongState):  # that request has closed
            state = await state_after_close(
                self.store, m.LINK_PURPOSE, link.token_hash, await self._closed_at(workflow_id)
            )
            return m.ConfirmAnswer(outcome=_AFTER_CLOSE.get(state, m.ConfirmOutcome.INVALID))

    async def resend_deletion(
        self, account_id: str, requested_by: str = "customer"
    ) -> m.DeletionPending:
        req = validate(m.Resend, requested_by=requested_by)
        return await self._update(
            deletion_workflow_id(account_id), "resend", req, m.DeletionPending
        )

    async def cancel_deletion(
        self, account_id: str, by: str = "customer", staff: str = "", reason: str = ""
    ) -> m.DeletionStatus:
        """Stop a deletion before the erasure starts (the customer, or staff with their
        login and a reason). WrongState once erasing or finished."""
        req = validate(m.Cancel, by=by, staff=staff, reason=reason)
        return await self._update(deletion_workflow_id(account_id), "cancel", req, m.DeletionStatus)

    async def cancel_deletion_on_sign_in(self, account_id: str) -> bool:
        """For sign-in to call after a successful sign-in: a deletion waiting for its
        confirmation or its cooling-off is cancelled. True if one was; never raises for an
        account with no deletion in progress, so sign-in goes on whatever this finds."""
        workflow_id = deletion_workflow_id(account_id)
        try:
            status = await self._query(workflow_id, "status", m.DeletionStatus)
        except NotFound:
            return False
        if status.state not in m.CANCELLABLE:
            return False
        try:
            await self._update(workflow_id, "cancel", m.Cancel(by="sign_in"), m.DeletionStatus)
        except (NotFound, WrongState):  # it moved on meanwhile (erasing, or closed)
            return False
        return True

    async def deletion_status(self, account_id: str) -> m.DeletionStatus:
        return await self._query(deletion_workflow_id(account_id), "status", m.DeletionStatus)

    async def export_account_data(self, account_id: str) -> m.AccountExport:
        """Everything the store holds about the account (GDPR art. 15 and 20)."""
        account = checked(_ACCOUNT, "account_id", account_id)
        async with self.store.begin() as uow:
            owner = await owner_of(uow.conn, account)
            if owner is None:
                raise NotFound("no such account")
            sections = await export_account(uow.conn, owner)
        return m.AccountExport(
            account_id=account,
            exported_at=datetime.now(UTC),
            sections=sections,
            kept_after_deletion={
                item.section: item.kept_because for item in REGISTRY if item.kept_because
            },
        )

    # --- plumbing -------------------------------------------------------------------------------

    async def _request_deletion(
        self, account_id: str, workflow_id: str, req: m.Request, first_serial: int
    ) -> m.DeletionPending:
        s = self.settings
        return await self._update_with_start(
            m.WORKFLOW_TYPE,
            m.DeletionInput(
                account_id=account_id,
                first_serial=first_serial,
                link_ttl=s.deletion_link_ttl,
                resend_cooldown=s.deletion_resend_cooldown,
                resend_limit=s.deletion_resend_limit,
                cooling_off=s.deletion_cooling_off,
            ),
            workflow_id,
            "deletion",
            m.State.NEW.value,
            "request",
            req,
            m.DeletionPending,
        )

    async def _closing(self, workflow_id: str) -> bool:
        """True once the run refusing a request has finished and closed (cancelled, or its
        link expired), so a new request may start."""
        status = await self._query(workflow_id, "status", m.DeletionStatus)
        if status.state not in m.FINISHED or status.state == m.State.DELETED:
            return False
        handle = self.temporal.get_workflow_handle(workflow_id)
        try:
            await asyncio.wait_for(handle.result(), _CLOSING_PATIENCE)
        except WorkflowFailureError:
            pass  # closed all the same
        return True

    async def _closed_at(self, workflow_id: str) -> datetime | None:
        try:
            return (await self.temporal.get_workflow_handle(workflow_id).describe()).close_time
        except RPCError as e:
            if e.status == RPCStatusCode.NOT_FOUND:
                return None
            raise


_AFTER_CLOSE = {
    TokenState.ALREADY_USED: m.ConfirmOutcome.ALREADY_USED,
    TokenState.EXPIRED: m.ConfirmOutcome.EXPIRED,
}
