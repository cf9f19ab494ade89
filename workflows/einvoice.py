"""E-invoice consent: request from a linked account → confirmation link by e-mail → consent
recorded (time, terms version, channel, address) and "e-faktura aktywna" mailed → invoices go
by e-mail until a withdrawal, which returns the partner to paper from the next invoice.

One run is one consent cycle, so a run's history is that consent's audit trail and stays
small; a run waits (idle, a few events) for as long as the consent is in force. After the
withdrawal, or a link nobody followed, the run closes and the next request starts a fresh run
under the same id. (Continue-as-new would keep a run alive for partners on paper for years,
only to wait for a request that may never come.)

The link mechanics are registration's: the token is made and checked by activities, expiry is
enforced by the store at the workflow's time, and a redemption under way beats the timer.
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from ebok.models import einvoice as m
    from ebok.models.search import EBOK_PARTNER
    from workflows.common import (
        EMAIL_RETRY,
        EMAIL_TIMEOUT,
        ensure_process_attribute,
        error_type,
        run_activity,
        run_store_step,
        show_status,
        update_id,
    )
    from workflows.mailed_link import LinkEvent, MailedLink

_REQUESTABLE = (m.State.NEW, m.State.AWAITING_CONFIRMATION)
_LINK_ENDS = {
    LinkEvent.REFUSED: (m.State.UNDELIVERABLE, "the relay refused the address"),
    LinkEvent.NOT_SENT: (m.State.UNDELIVERABLE, "confirmation mail not sent"),
    LinkEvent.EXPIRED: (m.State.EXPIRED, "confirmation link expired"),
}


@workflow.defn(name=m.WORKFLOW_TYPE)
class EInvoiceConsent:
    @workflow.init
    def __init__(self, inp: m.EInvoiceInput) -> None:
        self._in = inp
        self._state = m.State.NEW
        self._request: m.Request | None = None
        self._requested_at: datetime | None = None
        self._checking = False
        self._link = MailedLink(inp.link_ttl, inp.resend_cooldown, inp.resend_limit)
        self._consent_id: str | None = None
        self._active_since: datetime | None = None
        self._withdrawing = False
        self._withdrawal: m.Withdraw | None = None
        self._withdrawn_at: datetime | None = None
        self._detail = ""

    # --- the process --------------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: m.EInvoiceInput) -> m.EInvoiceStatus:
        ensure_process_attribute("einvoice")
        self._set(self._state)  # the first `request` may already have moved it
        try:
            await workflow.wait_condition(
                lambda: self._state != m.State.NEW and not self._checking, timeout=inp.link_ttl
            )
        except TimeoutError:
            await workflow.wait_condition(lambda: not self._checking)
            if self._state == m.State.NEW:
                self._close(m.State.ABANDONED, "no request arrived")
        while self._state == m.State.AWAITING_CONFIRMATION:
            await self._await_confirmation()
        if self._state == m.State.ACTIVE:
            await self._notify("active")
            # Invoices now go by e-mail; nothing happens here until the withdrawal.
            await workflow.wait_condition(lambda: self._state != m.State.ACTIVE)
        if self._state == m.State.WITHDRAWN:
            await self._notify("withdrawn")
        elif self._state in (m.State.UNDELIVERABLE, m.State.ABANDONED) and self._link.ordered:
            # An expired link is left as it is: followed later, it should say "expired".
            await run_activity(m.CLOSE, m.CloseRequest(request_id=self._id, at=workflow.now()))
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()

    async def _await_confirmation(self) -> None:
        """Mail every link ordered, then wait for the confirmation, a new link, or expiry."""
        event = await self._link.advance(
            m.SEND_LINK,
            self._link_mail,
            lambda: self._state == m.State.AWAITING_CONFIRMATION,
        )
        if event is LinkEvent.SENT:
            self._refresh()
        elif event is not None:
            self._close(*_LINK_ENDS[event])

    def _link_mail(self, number: int, issued_at: datetime, expires_at: datetime) -> m.SendLink:
        assert self._request is not None
        return m.SendLink(
            request_id=self._id,
            account_id=self._request.account_id,
            link_number=number,
            issued_at=issued_at,
            expires_at=expires_at,
        )

    async def _notify(self, kind: str) -> None:
        assert self._consent_id is not None
        await run_activity(
            m.NOTIFY,
            m.Notify(consent_id=self._consent_id, kind=kind),
            timeout=EMAIL_TIMEOUT,
            retry=EMAIL_RETRY,
        )

    # --- messages -----------------------------------------------------------------------------

    @workflow.update
    async def request(self, req: m.Request) -> m.ConfirmationPending:
        self._checking = True
        try:
            await run_store_step(
                m.CHECK_REQUEST,
                m.CheckRequest(partner_number=self._in.partner_number, account_id=req.account_id),
            )
        except ActivityError as err:
            # NotLinked, AlreadyActive, AccountGone: the caller's answer, with the reason.
            raise ApplicationError(
                str(getattr(err.cause, "message", err)), type=error_type(err) or "Refused"
            ) from None
        finally:
            self._checking = False
        if self._state not in _REQUESTABLE:  # moved on while the check ran
            raise ApplicationError(f"e-invoice is {self._state.value}", type="WrongState")
        if self._requested_at is None or self._request != req:
            self._request, self._requested_at = req, workflow.now()
        return self._order_link()

    @request.validator
    def _check_request(self, req: m.Request) -> None:
        if self._checking:
            raise ApplicationError("the previous request is still being checked", type="Busy")
        if self._state == m.State.AWAITING_CONFIRMATION:
            self._link.check_resend()
        elif self._state != m.State.NEW:
            raise ApplicationError(f"e-invoice is {self._state.value}", type="WrongState")

    @workflow.update
    async def resend(self, req: m.Resend) -> m.ConfirmationPending:
        return self._order_link()

    @resend.validator
    def _check_resend(self, req: m.Resend) -> None:
        if self._state != m.State.AWAITING_CONFIRMATION:
            raise ApplicationError(
                f"e-invoice is {self._state.value}; no link can be sent", type="WrongState"
            )
        self._link.check_resend()

    @workflow.update
    async def confirm(self, req: m.Confirm) -> m.ConfirmAnswer:
        assert self._request is not None and self._requested_at is not None
        with self._link.redeeming():
            answer: m.ConfirmAnswer = await run_store_step(
                m.REDEEM,
                m.Redeem(
                    request_id=self._id,
                    partner_number=self._in.partner_number,
                    account_id=self._request.account_id,
                    token_hash=req.token_hash,
                    at=workflow.now(),
                    redemption_id=update_id(),
                    terms_version=self._request.terms_version,
                    channel=self._request.channel,
                    requested_at=self._requested_at,
                ),
                result_type=m.ConfirmAnswer,
            )
        if (
            answer.outcome == m.ConfirmOutcome.ACTIVE
            and self._state == m.State.AWAITING_CONFIRMATION
        ):
            self._consent_id, self._active_since = answer.consent_id, answer.granted_at
            self._set(m.State.ACTIVE)
        return answer

    @confirm.validator
    def _check_confirm(self, req: m.Confirm) -> None:
        if self._request is None:
            raise ApplicationError("no e-invoice request to confirm", type="WrongState")

    @workflow.update
    async def withdraw(self, req: m.Withdraw) -> m.EInvoiceStatus:
        """Recorded in the store before the answer: the next invoice already goes on paper."""
        self._withdrawing = True
        try:
            await run_store_step(
                m.RECORD_WITHDRAWAL,
                m.RecordWithdrawal(
                    partner_number=self._in.partner_number, at=workflow.now(), channel=req.channel
                ),
            )
        finally:
            self._withdrawing = False
        self._withdrawal, self._withdrawn_at = req, workflow.now()
        self._detail = f"withdrawn by {req.by} ({req.channel})" + (
            f": {req.reason}" if req.reason else ""
        )
        self._set(m.State.WITHDRAWN)
        return self.status()

    @withdraw.validator
    def _check_withdraw(self, req: m.Withdraw) -> None:
        if self._state != m.State.ACTIVE or self._withdrawing:
            raise ApplicationError(
                f"nothing to withdraw: e-invoice is {self._state.value}", type="WrongState"
            )

    @workflow.query
    def status(self) -> m.EInvoiceStatus:
        r = self._request
        return m.EInvoiceStatus(
            partner_number=self._in.partner_number,
            state=self._state,
            request_id=self._id,
            account_id=r.account_id if r else None,
            terms_version=r.terms_version if r else None,
            channel=r.channel if r else None,
            requested_at=self._requested_at,
            **self._link.status(),
            consent_id=self._consent_id,
            active_since=self._active_since,
            withdrawn_at=self._withdrawn_at,
            withdrawn_by=self._withdrawal.by if self._withdrawal else None,
            detail=self._detail,
        )

    # --- helpers ------------------------------------------------------------------------------

    @property
    def _id(self) -> str:
        return f"{self._in.partner_number}.{self._in.request_key}"

    def _order_link(self) -> m.ConfirmationPending:
        pending = self._link.order(m.ConfirmationPending)
        self._set(m.State.AWAITING_CONFIRMATION)
        return pending

    def _close(self, state: m.State, detail: str) -> None:
        self._detail = detail
        self._set(state)

    def _set(self, state: m.State) -> None:
        self._state = state
        awaiting = state == m.State.AWAITING_CONFIRMATION
        show_status(
            state.value,
            also={EBOK_PARTNER: self._in.partner_number},
            deadline=self._link.expires_at if awaiting else None,  # the newest link's expiry
            final=state in m.FINISHED,
        )
        self._refresh()

    def _refresh(self) -> None:
        """Details only: no search-attribute write, so no history event."""
        workflow.set_current_details(self._summary())

    def _summary(self) -> str:
        s, partner = self._state, self._in.partner_number
        if s == m.State.NEW:
            return f"E-invoice for partner {partner}: waiting for the request."
        if s == m.State.AWAITING_CONFIRMATION:
            waiting = f"E-invoice for partner {partner}: waiting for confirmation."
            return f"{waiting} {self._link.summary()}"
        if s == m.State.ACTIVE:
            since = f"{self._active_since:%Y-%m-%d %H:%M} UTC" if self._active_since else "-"
            terms = self._request.terms_version if self._request else "-"
            return (
                f"E-invoice for partner {partner}: active since {since} (terms {terms}). "
                'Staff may withdraw (update `withdraw`, channel "staff").'
            )
        return f"E-invoice for partner {partner}: {s.value} ({self._detail})."
