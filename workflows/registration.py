"""Registration: step 2 → activation e-mail → activated, or expired and purged after a grace.

The workflow knows the registration by its opaque id only; e-mail, login and password hash
stay in the store, and the token exists only in the e-mail (the store keeps its SHA-256).
All times come from ``workflow.now()`` and are handed to activities, so the store and the
workflow agree on when a link expires, on a real clock or a skipped one.
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
    run_store_step,
    show,
    update_id,
)

with workflow.unsafe.imports_passed_through():
    from ebok.models import registration as m
    from ebok.models.search import EBOK_DEADLINE, EBOK_STATUS

_CLOSED = (m.Status.ACTIVATED, m.Status.CANCELLED)


@workflow.defn(name=m.WORKFLOW_TYPE)
class Registration:
    @workflow.init
    def __init__(self, inp: m.RegistrationInput) -> None:
        self._in = inp
        self._status = m.Status.AWAITING_PASSWORD
        self._links_ordered = 0  # link numbers handed out by updates
        self._links_sent = 0  # link numbers whose mail went out
        self._issued_at: datetime | None = None
        self._expires_at: datetime | None = None
        self._activated_at: datetime | None = None
        self._redeeming = 0
        self._reason = ""
        self._purged = False

    # --- the process --------------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: m.RegistrationInput) -> m.RegistrationStatus:
        # An update may have run before this line (it can share the first workflow task):
        # show the state as it is, never reset it.
        ensure_process_attribute("registration")
        self._set(self._status)
        try:
            await workflow.wait_condition(
                lambda: self._status != m.Status.AWAITING_PASSWORD, timeout=inp.password_timeout
            )
        except TimeoutError:
            self._close(m.Status.EXPIRED, "step 2 not completed in time")

        while True:
            if self._status == m.Status.AWAITING_ACTIVATION:
                await self._await_activation()
                continue
            if self._status == m.Status.ACTIVATED:
                await run_activity(m.SEND_WELCOME, m.SendWelcome(registration_id=self._id))
                break
            if self._status in (m.Status.EXPIRED, m.Status.UNDELIVERABLE):
                await self._record_closed()
                if await self._reopened_within(inp.purge_grace):
                    continue
            else:  # cancelled by staff: purge at once
                await self._record_closed()
            await self._purge()
            break

        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()

    async def _await_activation(self) -> None:
        """Mail every link ordered, then wait for activation, a resend, or the deadline."""
        if self._links_sent < self._links_ordered:
            await self._mail_link(self._links_ordered)
            return
        assert self._expires_at is not None
        deadline, ordered = self._expires_at, self._links_ordered
        try:
            await workflow.wait_condition(
                lambda: (
                    self._status != m.Status.AWAITING_ACTIVATION or self._links_ordered != ordered
                ),
                timeout=max(deadline - workflow.now(), timedelta(0)),
            )
        except TimeoutError:
            # A redemption that started before the deadline decides, not the timer.
            await workflow.wait_condition(lambda: self._redeeming == 0)
            if self._status == m.Status.AWAITING_ACTIVATION:
                self._close(m.Status.EXPIRED, "activation link expired")

    async def _mail_link(self, number: int) -> None:
        assert self._issued_at is not None and self._expires_at is not None
        try:
            await run_activity(
                m.SEND_ACTIVATION,
                m.SendActivation(
                    registration_id=self._id,
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
            self._set(self._status)  # refresh the summary
        except ActivityError as err:
            # Refused for good, or retries ran out before the link expired: nobody can use it.
            self._links_sent = number
            if self._status == m.Status.AWAITING_ACTIVATION:
                refused = error_type(err) == "RecipientRejected"
                self._close(
                    m.Status.UNDELIVERABLE,
                    "the relay refused the address" if refused else "activation mail not sent",
                )

    async def _reopened_within(self, grace: timedelta) -> bool:
        """Grace period: staff (or the customer) may still ask for a new link."""
        try:
            await workflow.wait_condition(
                lambda: (
                    self._status == m.Status.AWAITING_ACTIVATION
                    or self._status == m.Status.CANCELLED
                ),
                timeout=grace,
            )
        except TimeoutError:
            return False
        return self._status == m.Status.AWAITING_ACTIVATION

    async def _record_closed(self) -> None:
        await run_activity(
            m.CLOSE,
            m.CloseRegistration(registration_id=self._id, status=self._status, at=workflow.now()),
        )

    async def _purge(self) -> None:
        await run_activity(
            m.PURGE, m.PurgeRegistration(registration_id=self._id, at=workflow.now())
        )
        self._purged = True
        self._set(self._status)

    # --- messages -----------------------------------------------------------------------------

    @workflow.update
    async def credentials_set(self, req: m.CredentialsSet) -> m.ActivationPending:
        return self._order_link()

    @credentials_set.validator
    def _check_credentials(self, req: m.CredentialsSet) -> None:
        if self._status != m.Status.AWAITING_PASSWORD:
            raise ApplicationError(
                f"registration is {self._status.value}, not awaiting step 2", type="WrongState"
            )

    @workflow.update
    async def resend(self, req: m.Resend) -> m.ActivationPending:
        return self._order_link()

    @resend.validator
    def _check_resend(self, req: m.Resend) -> None:
        if self._links_ordered == 0 or self._status not in (
            m.Status.AWAITING_ACTIVATION,
            m.Status.EXPIRED,
            m.Status.UNDELIVERABLE,
        ):
            raise ApplicationError(
                f"registration is {self._status.value}; no link can be sent", type="WrongState"
            )
        if self._resends_left() <= 0:
            raise ApplicationError("no resends left", type="ResendLimit")
        retry_at = self._next_resend_at()
        if retry_at is not None and workflow.now() < retry_at:
            raise ApplicationError(
                f"resend allowed from {retry_at.isoformat()}",
                retry_at.isoformat(),
                type="RateLimited",
            )

    @workflow.update
    async def activate(self, req: m.Activate) -> m.ActivationAnswer:
        self._redeeming += 1
        try:
            answer: m.ActivationAnswer = await run_store_step(
                m.REDEEM_TOKEN,
                m.RedeemToken(
                    registration_id=self._id,
                    token_hash=req.token_hash,
                    at=workflow.now(),
                    redemption_id=update_id(),
                ),
                result_type=m.ActivationAnswer,
            )
        except ActivityError as err:
            if error_type(err) != "Taken":
                raise
            answer = m.ActivationAnswer(outcome=m.ActivationOutcome.INVALID)
        finally:
            self._redeeming -= 1
        if answer.outcome == m.ActivationOutcome.ACTIVATED and self._status != m.Status.ACTIVATED:
            self._activated_at = workflow.now()
            self._set(m.Status.ACTIVATED)
        return answer

    @workflow.update
    async def cancel(self, req: m.Cancel) -> m.RegistrationStatus:
        self._reason = req.reason or "cancelled by staff"
        self._set(m.Status.CANCELLED)
        return self.status()

    @cancel.validator
    def _check_cancel(self, req: m.Cancel) -> None:
        if self._status in _CLOSED:
            raise ApplicationError(f"registration is {self._status.value}", type="WrongState")

    @workflow.query
    def status(self) -> m.RegistrationStatus:
        return m.RegistrationStatus(
            registration_id=self._id,
            status=self._status,
            links_sent=self._links_sent,
            expires_at=self._expires_at,
            next_resend_at=self._next_resend_at(),
            resends_left=self._resends_left(),
            activated_at=self._activated_at,
            closed_reason=self._reason,
            purged=self._purged,
        )

    # --- helpers ------------------------------------------------------------------------------

    @property
    def _id(self) -> str:
        return self._in.registration_id

    def _order_link(self) -> m.ActivationPending:
        now = workflow.now()
        self._links_ordered += 1
        self._issued_at, self._expires_at = now, now + self._in.activation_ttl
        self._reason = ""
        self._set(m.Status.AWAITING_ACTIVATION)
        return m.ActivationPending(
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

    def _close(self, status: m.Status, reason: str) -> None:
        self._reason = reason
        self._set(status)

    def _set(self, status: m.Status) -> None:
        self._status = status
        values: dict[SearchAttributeKey[Any], Any] = {EBOK_STATUS: status.value}
        if self._expires_at is not None:
            values[EBOK_DEADLINE] = self._expires_at  # the newest link's expiry
        show(values)
        workflow.set_current_details(self._summary())

    def _summary(self) -> str:
        s = self._status
        if s == m.Status.AWAITING_PASSWORD:
            return "Registration: waiting for step 2 (password and terms)."
        if s == m.Status.AWAITING_ACTIVATION:
            assert self._expires_at is not None
            sent = "sent" if self._links_sent >= self._links_ordered else "being sent"
            return (
                f"Registration: waiting for activation. Link {self._links_ordered} {sent}, "
                f"expires {self._expires_at:%Y-%m-%d %H:%M} UTC; "
                f"{self._resends_left()} resend(s) left (update `resend`)."
            )
        if s == m.Status.ACTIVATED:
            return f"Registration: activated {self._activated_at:%Y-%m-%d %H:%M} UTC."
        tail = " Personal data purged." if self._purged else ""
        return f"Registration: {s.value} ({self._reason}).{tail}"
