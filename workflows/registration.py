"""Registration: step 2 → activation e-mail → activated, or expired and purged after a grace.

The workflow knows the registration by its opaque id only; e-mail, login and password hash
stay in the store, and the token exists only in the e-mail (the store keeps its SHA-256).
All times come from ``workflow.now()`` and are handed to activities, so the store and the
workflow agree on when a link expires, on a real clock or a skipped one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from ebok.models import registration as m
    from workflows.common import (
        ensure_process_attribute,
        error_type,
        run_activity,
        run_store_step,
        show_status,
        update_id,
    )
    from workflows.mailed_link import LinkEvent, MailedLink

_CLOSED = (m.Status.ACTIVATED, m.Status.CANCELLED)
_LINK_ENDS = {
    LinkEvent.REFUSED: (m.Status.UNDELIVERABLE, "the relay refused the address"),
    LinkEvent.NOT_SENT: (m.Status.UNDELIVERABLE, "activation mail not sent"),
    LinkEvent.EXPIRED: (m.Status.EXPIRED, "activation link expired"),
}


@workflow.defn(name=m.WORKFLOW_TYPE)
class Registration:
    @workflow.init
    def __init__(self, inp: m.RegistrationInput) -> None:
        self._in = inp
        self._status = m.Status.AWAITING_PASSWORD
        self._link = MailedLink(inp.activation_ttl, inp.resend_cooldown, inp.resend_limit)
        self._activated_at: datetime | None = None
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
        event = await self._link.advance(
            m.SEND_ACTIVATION,
            self._link_mail,
            lambda: self._status == m.Status.AWAITING_ACTIVATION,
        )
        if event is LinkEvent.SENT:
            self._set(self._status)  # refresh the summary
        elif event is not None:
            self._close(*_LINK_ENDS[event])

    def _link_mail(
        self, number: int, issued_at: datetime, expires_at: datetime
    ) -> m.SendActivation:
        return m.SendActivation(
            registration_id=self._id,
            link_number=number,
            issued_at=issued_at,
            expires_at=expires_at,
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
        if self._link.ordered == 0 or self._status not in (
            m.Status.AWAITING_ACTIVATION,
            m.Status.EXPIRED,
            m.Status.UNDELIVERABLE,
        ):
            raise ApplicationError(
                f"registration is {self._status.value}; no link can be sent", type="WrongState"
            )
        self._link.check_resend()

    @workflow.update
    async def activate(self, req: m.Activate) -> m.ActivationAnswer:
        with self._link.redeeming():
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
            **self._link.status(),
            activated_at=self._activated_at,
            closed_reason=self._reason,
            purged=self._purged,
        )

    # --- helpers ------------------------------------------------------------------------------

    @property
    def _id(self) -> str:
        return self._in.registration_id

    def _order_link(self) -> m.ActivationPending:
        pending = self._link.order(m.ActivationPending)
        self._reason = ""
        self._set(m.Status.AWAITING_ACTIVATION)
        return pending

    def _close(self, status: m.Status, reason: str) -> None:
        self._reason = reason
        self._set(status)

    def _set(self, status: m.Status) -> None:
        self._status = status
        show_status(status.value, deadline=self._link.expires_at)  # the newest link's expiry
        workflow.set_current_details(self._summary())

    def _summary(self) -> str:
        s = self._status
        if s == m.Status.AWAITING_PASSWORD:
            return "Registration: waiting for step 2 (password and terms)."
        if s == m.Status.AWAITING_ACTIVATION:
            return f"Registration: waiting for activation. {self._link.summary()}"
        if s == m.Status.ACTIVATED:
            return f"Registration: activated {self._activated_at:%Y-%m-%d %H:%M} UTC."
        tail = " Personal data purged." if self._purged else ""
        return f"Registration: {s.value} ({self._reason}).{tail}"
