"""Password reset: request → 24-hour single-use link by mail → new password set (every session
ends) → "your password was changed" mail; or the link expires.

The workflow knows the account by its opaque id and the cycle by a random id. It never sees a
password, a hash or a token: the facade checks and hashes the new password and stages the hash
in the store under the redemption's id; the redemption (one store transaction at the
workflow's time) uses the link and sets the staged hash, and the workflow learns "changed".
The link mechanics are the ones registration and e-invoice consent use (``MailedLink``).
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from ebok.models import password_reset as m
    from ebok.models.links import Resend
    from workflows.common import (
        EMAIL_RETRY,
        EMAIL_TIMEOUT,
        ensure_process_attribute,
        run_activity,
        run_store_step,
        show_status,
    )
    from workflows.mailed_link import LinkEvent, MailedLink

_LINK_ENDS = {
    LinkEvent.REFUSED: (m.State.UNDELIVERABLE, "the relay refused the address"),
    LinkEvent.NOT_SENT: (m.State.UNDELIVERABLE, "reset mail not sent"),
    LinkEvent.EXPIRED: (m.State.EXPIRED, "reset link expired"),
}


@workflow.defn(name=m.WORKFLOW_TYPE)
class PasswordReset:
    @workflow.init
    def __init__(self, inp: m.PasswordResetInput) -> None:
        self._in = inp
        self._state = m.State.NEW
        self._reason: m.Reason | None = None
        self._link = MailedLink(inp.link_ttl, inp.resend_cooldown, inp.resend_limit)
        self._changed_at: datetime | None = None
        self._detail = ""

    # --- the process --------------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: m.PasswordResetInput) -> m.PasswordResetStatus:
        ensure_process_attribute("password_reset")
        self._set(self._state)  # the first `request` may already have moved it
        try:
            await workflow.wait_condition(lambda: self._state != m.State.NEW, timeout=inp.link_ttl)
        except TimeoutError:
            self._close(m.State.EXPIRED, "no request arrived")
        while self._state == m.State.AWAITING_NEW_PASSWORD:
            event = await self._link.advance(
                m.SEND_LINK,
                self._link_mail,
                lambda: self._state == m.State.AWAITING_NEW_PASSWORD,
            )
            if event is LinkEvent.SENT:
                self._refresh()
            elif event is not None:
                self._close(*_LINK_ENDS[event])
        if self._state == m.State.CHANGED:
            assert self._changed_at is not None
            await run_activity(
                m.NOTIFY_CHANGED,
                m.NotifyChanged(
                    reset_id=inp.reset_id, account_id=inp.account_id, changed_at=self._changed_at
                ),
                timeout=EMAIL_TIMEOUT,
                retry=EMAIL_RETRY,
            )
        elif self._link.ordered:
            await run_activity(
                m.CLOSE,
                m.CloseReset(
                    reset_id=inp.reset_id,
                    at=workflow.now(),
                    expired=self._state == m.State.EXPIRED,
                ),
            )
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()

    def _link_mail(self, number: int, issued_at: datetime, expires_at: datetime) -> m.SendLink:
        assert self._reason is not None
        return m.SendLink(
            reset_id=self._in.reset_id,
            account_id=self._in.account_id,
            reason=self._reason,
            link_number=number,
            issued_at=issued_at,
            expires_at=expires_at,
        )

    # --- messages -----------------------------------------------------------------------------

    @workflow.update
    async def request(self, req: m.Request) -> m.ResetPending:
        self._reason = req.reason
        return self._order_link()

    @request.validator
    def _check_request(self, req: m.Request) -> None:
        if self._state == m.State.AWAITING_NEW_PASSWORD:
            self._link.check_resend()
        elif self._state != m.State.NEW:
            raise ApplicationError(f"password reset is {self._state.value}", type="WrongState")

    @workflow.signal
    def locked(self, sig: m.Locked) -> None:
        if self._state == m.State.NEW:
            self._reason = "locked"
            self._order_link()
        # Otherwise a link is out already, or the cycle is ending (the password was just
        # changed, which ends the lock): no second mail.

    @workflow.update
    async def resend(self, req: Resend) -> m.ResetPending:
        return self._order_link()

    @resend.validator
    def _check_resend(self, req: Resend) -> None:
        if self._state != m.State.AWAITING_NEW_PASSWORD:
            raise ApplicationError(
                f"password reset is {self._state.value}; no link can be sent", type="WrongState"
            )
        self._link.check_resend()

    @workflow.update
    async def redeem(self, req: m.Redeem) -> m.RedeemAnswer:
        with self._link.redeeming():
            answer: m.RedeemAnswer = await run_store_step(
                m.REDEEM,
                m.RedeemLink(
                    reset_id=self._in.reset_id,
                    account_id=self._in.account_id,
                    token_hash=req.token_hash,
                    redemption_id=req.redemption_id,
                    at=workflow.now(),
                ),
                result_type=m.RedeemAnswer,
            )
        if (
            answer.outcome == m.ResetOutcome.CHANGED
            and self._state == m.State.AWAITING_NEW_PASSWORD
        ):
            self._changed_at = workflow.now()
            self._detail = ""
            self._set(m.State.CHANGED)
        return answer

    @redeem.validator
    def _check_redeem(self, req: m.Redeem) -> None:
        if self._link.ordered == 0:
            raise ApplicationError("no reset link was sent", type="WrongState")

    @workflow.query
    def status(self) -> m.PasswordResetStatus:
        return m.PasswordResetStatus(
            account_id=self._in.account_id,
            reset_id=self._in.reset_id,
            state=self._state,
            reason=self._reason,
            **self._link.status(),
            changed_at=self._changed_at,
            detail=self._detail,
        )

    # --- helpers ------------------------------------------------------------------------------

    def _order_link(self) -> m.ResetPending:
        pending = self._link.order(m.ResetPending)
        self._set(m.State.AWAITING_NEW_PASSWORD)
        return pending

    def _close(self, state: m.State, detail: str) -> None:
        self._detail = detail
        self._set(state)

    def _set(self, state: m.State) -> None:
        self._state = state
        awaiting = state == m.State.AWAITING_NEW_PASSWORD
        show_status(
            state.value,
            deadline=self._link.expires_at if awaiting else None,  # the newest link's expiry
            final=state in m.FINISHED,
        )
        self._refresh()

    def _refresh(self) -> None:
        """Details only: no search-attribute write, so no history event."""
        workflow.set_current_details(self._summary())

    def _summary(self) -> str:
        s, account = self._state, self._in.account_id
        if s == m.State.NEW:
            return f"Password reset for account {account}: waiting for the request."
        if s == m.State.AWAITING_NEW_PASSWORD:
            why = {"locked": " (locked by failed sign-ins)", "staff": " (asked by staff)"}
            head = f"Password reset for account {account}{why.get(self._reason or '', '')}"
            return f"{head}: waiting for the new password. {self._link.summary()}"
        if s == m.State.CHANGED:
            at = f"{self._changed_at:%Y-%m-%d %H:%M} UTC" if self._changed_at else "-"
            return (
                f"Password reset for account {account}: password changed {at}; every "
                "session ended, the customer is told."
            )
        return (
            f"Password reset for account {account}: {s.value} ({self._detail}). "
            "A new request starts a new cycle."
        )
