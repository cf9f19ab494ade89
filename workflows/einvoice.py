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

from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.common import (
    EMAIL_RETRY,
    EMAIL_TIMEOUT,
    ensure_process_attribute,
    error_type,
    run_activity,
    show,
    update_id,
)

with workflow.unsafe.imports_passed_through():
    from ebok.models import einvoice as m
    from ebok.models.search import EBOK_DEADLINE, EBOK_OUTCOME, EBOK_PARTNER, EBOK_STATUS

_REQUESTABLE = (m.State.NEW, m.State.AWAITING_CONFIRMATION)


@workflow.defn(name=m.WORKFLOW_TYPE)
class EInvoiceConsent:
    @workflow.init
    def __init__(self, inp: m.EInvoiceInput) -> None:
        self._in = inp
        self._state = m.State.NEW
        self._request: m.Request | None = None
        self._requested_at: datetime | None = None
        self._checking = False
        self._links_ordered = 0  # link numbers handed out by updates
        self._links_sent = 0  # link numbers whose mail went out
        self._issued_at: datetime | None = None
        self._expires_at: datetime | None = None
        self._redeeming = 0
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
        elif self._state in (m.State.UNDELIVERABLE, m.State.ABANDONED) and self._links_ordered:
            # An expired link is left as it is: followed later, it should say "expired".
            await run_activity(m.CLOSE, m.CloseRequest(request_id=self._id, at=workflow.now()))
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()

    async def _await_confirmation(self) -> None:
        """Mail every link ordered, then wait for the confirmation, a new link, or expiry."""
        if self._links_sent < self._links_ordered:
            await self._mail_link(self._links_ordered)
            return
        assert self._expires_at is not None
        deadline, ordered = self._expires_at, self._links_ordered
        try:
            await workflow.wait_condition(
                lambda: (
                    self._state != m.State.AWAITING_CONFIRMATION or self._links_ordered != ordered
                ),
                timeout=max(deadline - workflow.now(), timedelta(0)),
            )
        except TimeoutError:
            # A confirmation that started before the deadline decides, not the timer.
            await workflow.wait_condition(lambda: self._redeeming == 0)
            if self._state == m.State.AWAITING_CONFIRMATION:
                self._close(m.State.EXPIRED, "confirmation link expired")

    async def _mail_link(self, number: int) -> None:
        assert self._request and self._issued_at is not None and self._expires_at is not None
        try:
            await run_activity(
                m.SEND_LINK,
                m.SendLink(
                    request_id=self._id,
                    account_id=self._request.account_id,
                    link_number=number,
                    issued_at=self._issued_at,
                    expires_at=self._expires_at,
                ),
                timeout=EMAIL_TIMEOUT,
                retry=EMAIL_RETRY,
                # No point retrying past the link's own expiry.
                schedule_to_close=max(self._expires_at - workflow.now(), timedelta(seconds=1)),
            )
            self._links_sent = max(self._links_sent, number)
            self._refresh()
        except ActivityError as err:
            self._links_sent = number  # nobody can use this link
            if self._state == m.State.AWAITING_CONFIRMATION:
                refused = error_type(err) == "RecipientRejected"
                self._close(
                    m.State.UNDELIVERABLE,
                    "the relay refused the address" if refused else "confirmation mail not sent",
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
            await run_activity(
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
            self._check_resend_allowed()
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
        self._check_resend_allowed()

    @workflow.update
    async def confirm(self, req: m.Confirm) -> m.ConfirmAnswer:
        assert self._request is not None and self._requested_at is not None
        self._redeeming += 1
        try:
            answer: m.ConfirmAnswer = await run_activity(
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
        finally:
            self._redeeming -= 1
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
            await run_activity(
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
            links_sent=self._links_sent,
            expires_at=self._expires_at,
            next_resend_at=self._next_resend_at(),
            resends_left=self._resends_left(),
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

    def _check_resend_allowed(self) -> None:
        if self._resends_left() <= 0:
            raise ApplicationError("no resends left", type="ResendLimit")
        retry_at = self._next_resend_at()
        if retry_at is not None and workflow.now() < retry_at:
            raise ApplicationError(
                f"a new link can be sent from {retry_at.isoformat()}",
                retry_at.isoformat(),
                type="RateLimited",
            )

    def _order_link(self) -> m.ConfirmationPending:
        now = workflow.now()
        self._links_ordered += 1
        self._issued_at, self._expires_at = now, now + self._in.link_ttl
        self._set(m.State.AWAITING_CONFIRMATION)
        return m.ConfirmationPending(
            link_number=self._links_ordered,
            expires_at=self._expires_at,
            next_resend_at=self._next_resend_at(),
            resends_left=self._resends_left(),
        )

    def _resends_left(self) -> int:
        return max(self._in.resend_limit - max(self._links_ordered - 1, 0), 0)

    def _next_resend_at(self) -> datetime | None:
        if self._issued_at is None or self._resends_left() <= 0:
            return None
        return self._issued_at + self._in.resend_cooldown

    def _close(self, state: m.State, detail: str) -> None:
        self._detail = detail
        self._set(state)

    def _set(self, state: m.State) -> None:
        self._state = state
        values: dict[SearchAttributeKey[Any], Any] = {
            EBOK_STATUS: state.value,
            EBOK_PARTNER: self._in.partner_number,
        }
        if state == m.State.AWAITING_CONFIRMATION and self._expires_at is not None:
            values[EBOK_DEADLINE] = self._expires_at  # the newest link's expiry
        if state in m.FINISHED:
            values[EBOK_OUTCOME] = state.value
        show(values)
        self._refresh()

    def _refresh(self) -> None:
        """Details only: no search-attribute write, so no history event."""
        workflow.set_current_details(self._summary())

    def _summary(self) -> str:
        s, partner = self._state, self._in.partner_number
        if s == m.State.NEW:
            return f"E-invoice for partner {partner}: waiting for the request."
        if s == m.State.AWAITING_CONFIRMATION:
            assert self._expires_at is not None
            sent = "sent" if self._links_sent >= self._links_ordered else "being sent"
            return (
                f"E-invoice for partner {partner}: waiting for confirmation. Link "
                f"{self._links_ordered} {sent}, expires {self._expires_at:%Y-%m-%d %H:%M} UTC; "
                f"{self._resends_left()} resend(s) left (update `resend`)."
            )
        if s == m.State.ACTIVE:
            since = f"{self._active_since:%Y-%m-%d %H:%M} UTC" if self._active_since else "-"
            terms = self._request.terms_version if self._request else "-"
            return (
                f"E-invoice for partner {partner}: active since {since} (terms {terms}). "
                'Staff may withdraw (update `withdraw`, channel "staff").'
            )
        return f"E-invoice for partner {partner}: {s.value} ({self._detail})."
