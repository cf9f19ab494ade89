"""E-mail change through the facade: request (link to the new address), confirm, undo (from the
old address), resend, cancel, the staff's unlock, status.

The addresses stay in the store (``email_changes``); the workflow ``email-change-<account id>``
carries the change's random id. One run per change: a request while a change is pending, may
still be undone, or has locked the account is refused (``WrongState``, saying why).
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime

from pydantic import TypeAdapter
from temporalio.client import WorkflowFailureError
from temporalio.service import RPCError, RPCStatusCode

from ebok.errors import InvalidInput, NotFound, WrongState
from ebok.models import email_change as m
from ebok.models.registration import RegistrationId
from ebok.store.accounts import email_key
from ebok.store.profiles import ACTIVE, EmailChange
from ebok.store.tokens import TokenState
from facade.base import FacadeBase, checked, validate
from facade.links import follow, state_after_close

__all__ = ["EmailChangeFacade", "email_change_workflow_id"]

_ACCOUNT: TypeAdapter[str] = TypeAdapter(RegistrationId)
_CLOSING_PATIENCE = 30.0  # seconds a request waits for the previous change's run to close


def email_change_workflow_id(account_id: str) -> str:
    return m.ID_PREFIX + checked(_ACCOUNT, "account_id", account_id)


class EmailChangeFacade(FacadeBase):
    async def request_email_change(self, account_id: str, new_email: str) -> m.ConfirmationPending:
        """Mail a confirmation link to ``new_email``; the address changes only when it is
        followed. An address another account has is answered the same (no enumeration): its
        confirmation then answers ``taken`` and nothing changes."""
        workflow_id = email_change_workflow_id(account_id)
        wanted = validate(m.NewAddress, new_email=new_email).new_email
        change_id = secrets.token_hex(16)
        async with self.store.begin() as uow:
            account = await uow.accounts.get(account_id)
            if account is None:
                raise NotFound("no such account")
            if email_key(wanted) == email_key(account.email):
                raise InvalidInput.one("new_email", "is the account's address already")
            if account.status != ACTIVE:
                raise WrongState("the account is locked for review")
            now = datetime.now(UTC)
            await uow.email_changes.add(
                EmailChange(
                    change_id,
                    account_id,
                    account.email,
                    wanted,
                    account.language,
                    "pending",
                    now,
                    None,
                    None,
                    None,
                    None,
                    None,
                )  # fmt: skip
            )
        try:
            try:
                return await self._request_change(account_id, change_id)
            except WrongState:
                if not await self._change_closed(workflow_id):
                    raise
            return await self._request_change(account_id, change_id)  # after the closed one
        except BaseException:
            async with self.store.begin() as uow:
                await uow.email_changes.close(change_id, "refused", datetime.now(UTC))
            raise

    async def confirm_email_change(self, token: str) -> m.ConfirmOutcome:
        """Follow the link mailed to the new address. Unknown or replaced: ``invalid``."""
        workflow_id, token_hash = await self._change_link(m.CONFIRM_PURPOSE, token)
        if workflow_id is None:
            return m.ConfirmOutcome.INVALID
        try:
            answer = await self._update(
                workflow_id, "confirm", m.Confirm(token_hash=token_hash), m.ConfirmAnswer
            )
        except NotFound:
            state = await self._change_after_close(workflow_id, m.CONFIRM_PURPOSE, token_hash)
            return m.ConfirmOutcome(state.value) if state in _AFTER_CLOSE else _INVALID
        return answer.outcome

    async def undo_email_change(self, token: str) -> m.UndoOutcome:
        """Follow the undo link mailed to the old address: the old address is back and the
        account is locked for staff review. After the undo window: ``expired``."""
        workflow_id, token_hash = await self._change_link(m.UNDO_PURPOSE, token)
        if workflow_id is None:
            return m.UndoOutcome.INVALID
        try:
            answer = await self._update(
                workflow_id, "undo", m.Confirm(token_hash=token_hash), m.UndoAnswer
            )
        except NotFound:
            state = await self._change_after_close(workflow_id, m.UNDO_PURPOSE, token_hash)
            return m.UndoOutcome(state.value) if state in _AFTER_CLOSE else m.UndoOutcome.INVALID
        return answer.outcome

    async def resend_email_change(
        self, account_id: str, requested_by: str = "customer"
    ) -> m.ConfirmationPending:
        req = validate(m.Resend, requested_by=requested_by)
        return await self._update(
            email_change_workflow_id(account_id), "resend", req, m.ConfirmationPending
        )

    async def cancel_email_change(
        self, account_id: str, by: str = "customer", reason: str = ""
    ) -> m.EmailChangeStatus:
        req = validate(m.Cancel, by=by, reason=reason)
        return await self._update(
            email_change_workflow_id(account_id), "cancel", req, m.EmailChangeStatus
        )

    async def unlock_account(
        self, account_id: str, staff: str, reason: str = ""
    ) -> m.EmailChangeStatus:
        """Staff, after reviewing an account locked by an undone e-mail change."""
        req = validate(m.Unlock, staff=staff, reason=reason)
        return await self._update(
            email_change_workflow_id(account_id), "unlock", req, m.EmailChangeStatus
        )

    async def email_change_status(self, account_id: str) -> m.EmailChangeStatus:
        return await self._query(
            email_change_workflow_id(account_id), "status", m.EmailChangeStatus
        )

    # --- plumbing -------------------------------------------------------------------------------

    async def _request_change(self, account_id: str, change_id: str) -> m.ConfirmationPending:
        s = self.settings
        return await self._update_with_start(
            m.WORKFLOW_TYPE,
            m.EmailChangeInput(
                account_id=account_id,
                change_id=change_id,
                link_ttl=s.email_change_link_ttl,
                undo_window=s.email_change_undo_window,
                resend_cooldown=s.email_change_resend_cooldown,
                resend_limit=s.email_change_resend_limit,
            ),
            email_change_workflow_id(account_id),
            "email_change",
            m.State.NEW.value,
            "request",
            m.Request(change_id=change_id),
            m.ConfirmationPending,
        )

    async def _change_link(self, purpose: str, token: str) -> tuple[str | None, str]:
        link = await follow(self.store, purpose, token)
        if link is None:
            return None, ""
        async with self.store.begin() as uow:
            change = await uow.email_changes.get(link.subject_id)
        if change is None:
            return None, ""
        return m.ID_PREFIX + change.account_id, link.token_hash

    async def _change_closed(self, workflow_id: str) -> bool:
        """True once the run refusing a request, which is finishing, has closed."""
        try:
            status = await self._query(workflow_id, "status", m.EmailChangeStatus)
        except NotFound:
            return False
        if status.state not in m.FINISHED:
            return False
        try:
            handle = self.temporal.get_workflow_handle(workflow_id)
            await asyncio.wait_for(handle.result(), _CLOSING_PATIENCE)
        except WorkflowFailureError:
            pass  # closed all the same
        return True

    async def _change_after_close(
        self, workflow_id: str, purpose: str, token_hash: str
    ) -> TokenState:
        try:
            described = await self.temporal.get_workflow_handle(workflow_id).describe()
            closed_at = described.close_time
        except RPCError as e:
            if e.status != RPCStatusCode.NOT_FOUND:
                raise
            closed_at = None
        return await state_after_close(self.store, purpose, token_hash, closed_at)


_AFTER_CLOSE = (TokenState.ALREADY_USED, TokenState.EXPIRED)
_INVALID = m.ConfirmOutcome.INVALID
