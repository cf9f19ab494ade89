"""Account deletion (GDPR art. 17): request → confirmation link by e-mail → a cooling-off
period ("deletion scheduled on DATE, sign in to cancel"), during which signing in or staff
stop it → the account's open processes ended through their own messages → "account deleted"
mailed → the personal data erased in one transaction, the link to the partner removed;
invoices and payments stay with the partner (accounting law).

The link mechanics are the shared ones (workflows/mailed_link.py, activities/links.py). One
run is one request; a cancelled or expired one closes and the next request starts afresh
under the same id. Staff see the next step in the UI's details line and stop it with the
``cancel`` update.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from ebok.models import deletion as m
    from workflows.common import (
        EMAIL_RETRY,
        EMAIL_TIMEOUT,
        STORE_RETRY,
        ensure_process_attribute,
        run_activity,
        run_store_step,
        show_status,
        update_id,
    )
    from workflows.mailed_link import LinkEvent, MailedLink

# Ending the account's processes waits for each to close (its last mail, say).
END_TIMEOUT = timedelta(minutes=10)
END_HEARTBEAT = timedelta(seconds=30)

_LINK_ENDS = {
    LinkEvent.REFUSED: (m.State.UNDELIVERABLE, "the relay refused the address"),
    LinkEvent.NOT_SENT: (m.State.UNDELIVERABLE, "confirmation mail not sent"),
    LinkEvent.EXPIRED: (m.State.EXPIRED, "confirmation link expired; nothing was deleted"),
}


@workflow.defn(name=m.WORKFLOW_TYPE)
class AccountDeletion:
    @workflow.init
    def __init__(self, inp: m.DeletionInput) -> None:
        self._in = inp
        self._state = m.State.NEW
        self._requested_at: datetime | None = None
        self._link = MailedLink(inp.link_ttl, inp.resend_cooldown, inp.resend_limit)
        self._confirmed_at: datetime | None = None
        self._erase_at: datetime | None = None
        self._cancel: m.Cancel | None = None
        self._cancelled_at: datetime | None = None
        self._deleted_at: datetime | None = None
        self._ended: list[str] = []
        self._detail = ""

    # --- the process --------------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: m.DeletionInput) -> m.DeletionStatus:
        ensure_process_attribute("deletion")
        self._set(self._state)  # the first `request` may already have moved it
        try:
            await workflow.wait_condition(lambda: self._state != m.State.NEW, timeout=inp.link_ttl)
        except TimeoutError:
            if self._state == m.State.NEW:
                self._close(m.State.EXPIRED, "no request arrived")
        while self._state == m.State.AWAITING_CONFIRMATION:
            await self._await_confirmation()
        if self._state == m.State.SCHEDULED:
            await self._cooling_off()
        if self._state == m.State.SCHEDULED:
            await self._erase()
        elif self._state in (m.State.CANCELLED, m.State.UNDELIVERABLE) and self._link.ordered:
            # An expired link is left as it is: followed later, it should say "expired".
            await run_activity(
                m.CLOSE, m.CloseRequest(account_id=inp.account_id, at=workflow.now())
            )
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()

    async def _await_confirmation(self) -> None:
        event = await self._link.advance(
            m.SEND_LINK, self._link_mail, lambda: self._state == m.State.AWAITING_CONFIRMATION
        )
        if event is LinkEvent.SENT:
            self._refresh()
        elif event is not None:
            self._close(*_LINK_ENDS[event])

    def _link_mail(self, number: int, issued_at: datetime, expires_at: datetime) -> m.SendLink:
        return m.SendLink(
            account_id=self._in.account_id,
            serial=self._in.first_serial - 1 + number,
            issued_at=issued_at,
            expires_at=expires_at,
        )

    async def _cooling_off(self) -> None:
        """Tell the customer the date, then wait for it; signing in or staff cancel."""
        assert self._erase_at is not None
        await self._notify("scheduled")
        try:
            await workflow.wait_condition(
                lambda: self._state != m.State.SCHEDULED,
                timeout=max(self._erase_at - workflow.now(), timedelta(0)),
            )
        except TimeoutError:
            pass

    async def _erase(self) -> None:
        self._set(m.State.ERASING)
        now = workflow.now()
        ended: m.ProcessesEnded = await workflow.execute_activity(
            m.END_PROCESSES,
            m.EndProcesses(account_id=self._in.account_id, at=now),
            result_type=m.ProcessesEnded,
            start_to_close_timeout=END_TIMEOUT,
            heartbeat_timeout=END_HEARTBEAT,
            retry_policy=STORE_RETRY,
        )
        self._ended = ended.ended
        self._refresh()
        await self._notify("deleted")  # while the address is still there
        await run_activity(m.ERASE, m.Erase(account_id=self._in.account_id, at=workflow.now()))
        self._deleted_at = workflow.now()
        self._close(m.State.DELETED, "personal data erased; invoices and payments kept")

    async def _notify(self, kind: str) -> None:
        assert self._erase_at is not None
        try:
            await run_activity(
                m.NOTIFY,
                m.Notify(
                    account_id=self._in.account_id,
                    kind=kind,
                    serial=self._in.first_serial,
                    erase_at=self._erase_at,
                ),
                timeout=EMAIL_TIMEOUT,
                retry=EMAIL_RETRY,
            )
        except ActivityError as err:
            # The deletion goes on without the mail; the UI says why it is missing.
            self._detail = f"the {kind} mail was not sent: {err.cause}"
            self._refresh()

    # --- messages -----------------------------------------------------------------------------

    @workflow.update
    async def request(self, req: m.Request) -> m.DeletionPending:
        if self._requested_at is None:
            self._requested_at = workflow.now()
        pending = self._link.order(m.DeletionPending)
        self._set(m.State.AWAITING_CONFIRMATION)
        return pending

    @request.validator
    def _check_request(self, req: m.Request) -> None:
        if self._state == m.State.AWAITING_CONFIRMATION:
            self._link.check_resend()
        elif self._state != m.State.NEW:
            raise ApplicationError(f"deletion is {self._state.value}", type="WrongState")

    @workflow.update
    async def resend(self, req: m.Resend) -> m.DeletionPending:
        pending = self._link.order(m.DeletionPending)
        self._refresh()
        return pending

    @resend.validator
    def _check_resend(self, req: m.Resend) -> None:
        if self._state != m.State.AWAITING_CONFIRMATION:
            raise ApplicationError(
                f"deletion is {self._state.value}; no link can be sent", type="WrongState"
            )
        self._link.check_resend()

    @workflow.update
    async def confirm(self, req: m.Confirm) -> m.ConfirmAnswer:
        with self._link.redeeming():
            redeemed: m.Redeemed = await run_store_step(
                m.REDEEM,
                m.Redeem(
                    account_id=self._in.account_id,
                    token_hash=req.token_hash,
                    at=workflow.now(),
                    redemption_id=update_id(),
                ),
                result_type=m.Redeemed,
            )
        if redeemed.outcome != m.ConfirmOutcome.SCHEDULED:
            return m.ConfirmAnswer(outcome=redeemed.outcome)
        if self._state == m.State.AWAITING_CONFIRMATION:
            self._confirmed_at = workflow.now()
            self._erase_at = self._confirmed_at + self._in.cooling_off
            self._set(m.State.SCHEDULED)
        elif self._state != m.State.SCHEDULED:  # cancelled while the link was being used
            raise ApplicationError(f"deletion is {self._state.value}", type="WrongState")
        return m.ConfirmAnswer(outcome=m.ConfirmOutcome.SCHEDULED, erase_at=self._erase_at)

    @confirm.validator
    def _check_confirm(self, req: m.Confirm) -> None:
        if self._state not in (m.State.AWAITING_CONFIRMATION, m.State.SCHEDULED):
            raise ApplicationError(f"deletion is {self._state.value}", type="WrongState")

    @workflow.update
    async def cancel(self, req: m.Cancel) -> m.DeletionStatus:
        """Signing in during the cooling-off, the customer asking, or staff: nothing erased."""
        self._cancel, self._cancelled_at = req, workflow.now()
        who = f"staff ({req.staff})" if req.by == "staff" and req.staff else req.by
        self._close(
            m.State.CANCELLED, f"cancelled by {who}" + (f": {req.reason}" if req.reason else "")
        )
        return self.status()

    @cancel.validator
    def _check_cancel(self, req: m.Cancel) -> None:
        if self._state not in m.CANCELLABLE:
            raise ApplicationError(
                f"deletion is {self._state.value}; it can no longer be stopped", type="WrongState"
            )

    @workflow.query
    def status(self) -> m.DeletionStatus:
        return m.DeletionStatus(
            account_id=self._in.account_id,
            state=self._state,
            requested_at=self._requested_at,
            **self._link.status(),
            confirmed_at=self._confirmed_at,
            erase_at=self._erase_at,
            cancelled_at=self._cancelled_at,
            cancelled_by=self._cancel.by if self._cancel else None,
            deleted_at=self._deleted_at,
            processes_ended=self._ended,
            detail=self._detail,
        )

    # --- helpers ------------------------------------------------------------------------------

    def _close(self, state: m.State, detail: str) -> None:
        self._detail = detail
        self._set(state)

    def _set(self, state: m.State) -> None:
        self._state = state
        deadline = None
        if state == m.State.AWAITING_CONFIRMATION:
            deadline = self._link.expires_at
        elif state == m.State.SCHEDULED:
            deadline = self._erase_at
        show_status(state.value, deadline=deadline, final=state in m.FINISHED)
        self._refresh()

    def _refresh(self) -> None:
        """Details only: no search-attribute write, so no history event."""
        workflow.set_current_details(self._summary())

    def _summary(self) -> str:
        s = self._state
        stop = 'Staff may stop it (update `cancel`, {"by": "staff", "staff": …, "reason": …}).'
        if s == m.State.NEW:
            return "Account deletion: waiting for the request."
        if s == m.State.AWAITING_CONFIRMATION:
            return (
                "Account deletion: waiting for the customer to confirm by the mailed link. "
                f"{self._link.summary()} {stop}"
            )
        if s == m.State.SCHEDULED:
            assert self._erase_at is not None
            return (
                f"Account deletion: confirmed; next: personal data erased on "
                f"{self._erase_at:%Y-%m-%d %H:%M} UTC unless the customer signs in. {stop}"
                + (f" Note: {self._detail}." if self._detail else "")
            )
        if s == m.State.ERASING:
            ended = "; ".join(self._ended) or "none open"
            return (
                "Account deletion: erasing now (open processes ended, the last mail, the "
                f"erasure); it can no longer be stopped. Processes ended: {ended}."
            )
        return f"Account deletion: {s.value} ({self._detail})."
