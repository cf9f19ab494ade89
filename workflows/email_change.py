"""E-mail change: a link to the new address (24 h) → the address changes when it is followed →
the old address is told, with a link (7 days) that undoes the change and locks the account →
staff review the locked account and unlock it.

Both links are the shared mailed link (``workflows/mailed_link.py``): made, mailed and
redeemed by activities over the one-time tokens, expiry enforced by the store at the
workflow's time, and a redemption under way beats the timer. One run is one change; the next
change of the account starts a new run under the same id once this one has closed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from ebok.models import email_change as m
    from ebok.models.links import LinkPending
    from workflows.common import (
        EMAIL_RETRY,
        EMAIL_TIMEOUT,
        ensure_process_attribute,
        run_activity,
        run_store_step,
        show_status,
        update_id,
    )
    from workflows.mailed_link import LinkEvent, MailedLink

_CONFIRM_ENDS = {
    LinkEvent.REFUSED: (m.State.UNDELIVERABLE, "the relay refused the new address"),
    LinkEvent.NOT_SENT: (m.State.UNDELIVERABLE, "confirmation mail not sent"),
    LinkEvent.EXPIRED: (m.State.EXPIRED, "confirmation link expired; nothing changed"),
}


@workflow.defn(name=m.WORKFLOW_TYPE)
class EmailChange:
    @workflow.init
    def __init__(self, inp: m.EmailChangeInput) -> None:
        self._in = inp
        self._state = m.State.NEW
        self._requested_at: datetime | None = None
        self._confirm = MailedLink(inp.link_ttl, inp.resend_cooldown, inp.resend_limit)
        self._undo = MailedLink(inp.undo_window, timedelta(0), 0)  # one link, no resends
        self._changed_at: datetime | None = None
        self._undone_at: datetime | None = None
        self._unlocking = False
        self._unlock: m.Unlock | None = None
        self._unlocked_at: datetime | None = None
        self._detail = ""

    # --- the process --------------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: m.EmailChangeInput) -> m.EmailChangeStatus:
        ensure_process_attribute("email_change")
        self._set(self._state)  # the first `request` may already have moved it
        try:
            await workflow.wait_condition(lambda: self._state != m.State.NEW, timeout=inp.link_ttl)
        except TimeoutError:
            self._close(m.State.CANCELLED, "no request arrived")
        while self._state == m.State.AWAITING_CONFIRMATION:
            event = await self._confirm.advance(
                m.SEND_CONFIRMATION,
                self._link_mail,
                lambda: self._state == m.State.AWAITING_CONFIRMATION,
            )
            if event is LinkEvent.SENT:
                self._refresh()
            elif event is not None:
                self._close(*_CONFIRM_ENDS[event])
        if self._state == m.State.CHANGED:
            await self._undo_window()
        if self._state == m.State.LOCKED:
            await self._notify("locked")
            await workflow.wait_condition(lambda: self._state != m.State.LOCKED)
        if self._state != m.State.UNLOCKED:  # its links stop; the row records the end
            await self._close_in_store()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()

    async def _undo_window(self) -> None:
        """Tell the old address, with the undo link (ordered by ``confirm``); wait for it to be
        used or to lapse."""
        while self._state == m.State.CHANGED:
            event = await self._undo.advance(
                m.SEND_UNDO_LINK, self._link_mail, lambda: self._state == m.State.CHANGED
            )
            if event is LinkEvent.EXPIRED:
                self._close(m.State.DONE, "undo window over; the new address stays")
            elif event in (LinkEvent.REFUSED, LinkEvent.NOT_SENT):
                self._detail = "the old address could not be told"  # the window runs on
                self._refresh()
            elif event is LinkEvent.SENT:
                self._refresh()

    def _link_mail(self, number: int, issued_at: datetime, expires_at: datetime) -> m.SendLink:
        return m.SendLink(
            change_id=self._in.change_id,
            link_number=number,
            issued_at=issued_at,
            expires_at=expires_at,
        )

    async def _notify(self, kind: str) -> None:
        await run_activity(
            m.NOTIFY,
            m.Notify(change_id=self._in.change_id, kind=kind),
            timeout=EMAIL_TIMEOUT,
            retry=EMAIL_RETRY,
        )

    async def _close_in_store(self) -> None:
        await run_activity(
            m.CLOSE,
            m.CloseChange(change_id=self._in.change_id, state=self._state.value, at=workflow.now()),
        )

    # --- messages -----------------------------------------------------------------------------

    @workflow.update
    async def request(self, req: m.Request) -> m.ConfirmationPending:
        self._requested_at = workflow.now()
        pending = self._confirm.order(m.ConfirmationPending)
        self._set(m.State.AWAITING_CONFIRMATION)
        return pending

    @request.validator
    def _check_request(self, req: m.Request) -> None:
        if req.change_id != self._in.change_id or self._state != m.State.NEW:
            raise ApplicationError(self._busy_reason(), type="WrongState")

    @workflow.update
    async def resend(self, req: m.Resend) -> m.ConfirmationPending:
        pending = self._confirm.order(m.ConfirmationPending)
        self._set(m.State.AWAITING_CONFIRMATION)
        return pending

    @resend.validator
    def _check_resend(self, req: m.Resend) -> None:
        if self._state != m.State.AWAITING_CONFIRMATION:
            raise ApplicationError(
                f"e-mail change is {self._state.value}; no link can be sent", type="WrongState"
            )
        self._confirm.check_resend()

    @workflow.update
    async def confirm(self, req: m.Confirm) -> m.ConfirmAnswer:
        with self._confirm.redeeming():
            answer: m.ConfirmAnswer = await run_store_step(
                m.CONFIRM, self._redeem(req), result_type=m.ConfirmAnswer
            )
        if self._state == m.State.AWAITING_CONFIRMATION:
            if answer.outcome == m.ConfirmOutcome.CHANGED:
                self._changed_at = answer.changed_at
                # The undo window runs from the change itself.
                self._undo.order(LinkPending, since=answer.changed_at)
                self._set(m.State.CHANGED)
            elif answer.outcome == m.ConfirmOutcome.TAKEN:
                self._close(m.State.TAKEN, "another account has the new address; nothing changed")
        return answer

    @confirm.validator
    def _check_confirm(self, req: m.Confirm) -> None:
        if self._state == m.State.NEW:
            raise ApplicationError("no e-mail change to confirm", type="WrongState")

    @workflow.update
    async def undo(self, req: m.Confirm) -> m.UndoAnswer:
        with self._undo.redeeming():
            answer: m.UndoAnswer = await run_store_step(
                m.UNDO, self._redeem(req), result_type=m.UndoAnswer
            )
        if answer.outcome == m.UndoOutcome.UNDONE and self._state == m.State.CHANGED:
            self._undone_at = answer.undone_at
            self._detail = "undone from the old address"
            self._set(m.State.LOCKED)
        return answer

    @undo.validator
    def _check_undo(self, req: m.Confirm) -> None:
        if self._undo.ordered == 0:
            raise ApplicationError("the change has not taken effect", type="WrongState")

    @workflow.update
    async def cancel(self, req: m.Cancel) -> m.EmailChangeStatus:
        self._close(m.State.CANCELLED, f"cancelled by {req.by}" + _reason(req.reason))
        return self.status()

    @cancel.validator
    def _check_cancel(self, req: m.Cancel) -> None:
        if self._state != m.State.AWAITING_CONFIRMATION or self._confirm.busy:
            raise ApplicationError(
                f"nothing to cancel: e-mail change is {self._state.value}", type="WrongState"
            )

    @workflow.update
    async def unlock(self, req: m.Unlock) -> m.EmailChangeStatus:
        """Staff, after reviewing the account (UI: ``{"staff": "anna.b", "reason": "..."}``)."""
        self._unlocking = True
        try:
            await run_store_step(
                m.UNLOCK,
                m.UnlockAccount(change_id=self._in.change_id, staff=req.staff, at=workflow.now()),
            )
        finally:
            self._unlocking = False
        self._unlock, self._unlocked_at = req, workflow.now()
        self._detail = f"unlocked by {req.staff}" + _reason(req.reason)
        self._set(m.State.UNLOCKED)
        return self.status()

    @unlock.validator
    def _check_unlock(self, req: m.Unlock) -> None:
        if self._state != m.State.LOCKED or self._unlocking:
            raise ApplicationError(
                f"nothing to unlock: e-mail change is {self._state.value}", type="WrongState"
            )

    @workflow.query
    def status(self) -> m.EmailChangeStatus:
        return m.EmailChangeStatus(
            account_id=self._in.account_id,
            change_id=self._in.change_id,
            state=self._state,
            requested_at=self._requested_at,
            **self._confirm.status(),
            changed_at=self._changed_at,
            undo_until=self._undo.expires_at,
            undone_at=self._undone_at,
            unlocked_at=self._unlocked_at,
            unlocked_by=self._unlock.staff if self._unlock else None,
            detail=self._detail,
        )

    # --- helpers ------------------------------------------------------------------------------

    def _redeem(self, req: m.Confirm) -> m.Redeem:
        return m.Redeem(
            change_id=self._in.change_id,
            token_hash=req.token_hash,
            at=workflow.now(),
            redemption_id=update_id(),
        )

    def _busy_reason(self) -> str:
        s = self._state
        if s == m.State.AWAITING_CONFIRMATION:
            return "an e-mail change is waiting for confirmation; cancel it first"
        if s == m.State.CHANGED and self._undo.expires_at is not None:
            return (
                "the previous e-mail change may still be undone until "
                f"{self._undo.expires_at.isoformat()}"
            )
        if s == m.State.LOCKED:
            return "the account is locked for review"
        return f"e-mail change is {s.value}"

    def _close(self, state: m.State, detail: str) -> None:
        self._detail = detail
        self._set(state)

    def _set(self, state: m.State) -> None:
        self._state = state
        deadline = None
        if state == m.State.AWAITING_CONFIRMATION:
            deadline = self._confirm.expires_at
        elif state == m.State.CHANGED:
            deadline = self._undo.expires_at
        show_status(state.value, deadline=deadline, final=state in m.FINISHED)
        self._refresh()

    def _refresh(self) -> None:
        """Details only: no search-attribute write, so no history event."""
        workflow.set_current_details(self._summary())

    def _summary(self) -> str:
        s, head = self._state, f"E-mail change of account {self._in.account_id}"
        if s == m.State.NEW:
            return f"{head}: waiting for the request."
        if s == m.State.AWAITING_CONFIRMATION:
            return (
                f"{head}: waiting for the new address to be confirmed. "
                f"{self._confirm.summary()} Staff may `cancel`."
            )
        if s == m.State.CHANGED:
            until = self._undo.expires_at
            told = "told" if self._undo.sent >= self._undo.ordered else "being told"
            return (
                f"{head}: in effect since {_at(self._changed_at)}; the old address is {told} "
                f"and may undo it until {_at(until)}. Nothing to do."
                + (f" ({self._detail})" if self._detail else "")
            )
        if s == m.State.LOCKED:
            return (
                f"{head}: undone from the old address at {_at(self._undone_at)}; the account "
                'is LOCKED. Review it, then send update `unlock` {"staff": ..., "reason": ...}.'
            )
        return f"{head}: {s.value} ({self._detail})."


def _at(at: datetime | None) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC" if at else "-"


def _reason(reason: str) -> str:
    return f": {reason}" if reason else ""
