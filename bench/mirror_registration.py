"""Registration's bare shape calling our activities (see ``bench.mirror_shapes``)."""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from bench.mirror_shapes import call, update_id
    from ebok.models import registration as m


@workflow.defn(name=m.WORKFLOW_TYPE)
class MirrorRegistration:
    """``BareRegistration`` with our inputs: step 2 waits under its deadline, the activation
    mail, the wait for the activation under the link's expiry, the welcome mail; ``activate``
    redeems the token in an ordinary activity."""

    @workflow.init
    def __init__(self, inp: m.RegistrationInput) -> None:
        self._in = inp
        self._issued_at: datetime | None = None
        self._expires_at: datetime | None = None
        self._activated = False

    @workflow.run
    async def run(self, inp: m.RegistrationInput) -> str:
        await workflow.wait_condition(self._step2_done, timeout=inp.password_timeout)
        assert self._issued_at is not None and self._expires_at is not None
        mail = m.SendActivation(
            registration_id=inp.registration_id,
            link_number=1,
            issued_at=self._issued_at,
            expires_at=self._expires_at,
        )
        await call(m.SEND_ACTIVATION, mail)
        await workflow.wait_condition(lambda: self._activated, timeout=inp.activation_ttl)
        await call(m.SEND_WELCOME, m.SendWelcome(registration_id=inp.registration_id))
        await workflow.wait_condition(workflow.all_handlers_finished)
        return "activated"

    def _step2_done(self) -> bool:
        return self._expires_at is not None

    @workflow.update
    async def credentials_set(self, req: m.CredentialsSet) -> m.ActivationPending:
        self._issued_at = workflow.now()
        self._expires_at = self._issued_at + self._in.activation_ttl
        return m.ActivationPending(
            link_number=1, expires_at=self._expires_at, next_resend_at=None, resends_left=0
        )

    @workflow.update
    async def activate(self, req: m.Activate) -> m.ActivationAnswer:
        redeem = m.RedeemToken(
            registration_id=self._in.registration_id,
            token_hash=req.token_hash,
            at=workflow.now(),
            redemption_id=update_id(),
        )
        answer: m.ActivationAnswer = await call(m.REDEEM_TOKEN, redeem, m.ActivationAnswer)
        self._activated = answer.outcome == m.ActivationOutcome.ACTIVATED
        return answer
