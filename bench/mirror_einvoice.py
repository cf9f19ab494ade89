"""E-invoice consent's bare shape calling our activities (see ``bench.mirror_shapes``)."""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from bench.mirror_shapes import call, update_id
    from ebok.models import einvoice as m


@workflow.defn(name=m.WORKFLOW_TYPE)
class MirrorEInvoice:
    """``BareEInvoice`` with our inputs: ``request`` checks in an ordinary activity and answers;
    the run mails the link and waits under its expiry; ``confirm`` redeems the token and
    records the consent in an ordinary activity; the run mails "active" and waits for a
    withdrawal."""

    @workflow.init
    def __init__(self, inp: m.EInvoiceInput) -> None:
        self._in = inp
        self._request: m.Request | None = None
        self._requested_at: datetime | None = None
        self._consent_id: str | None = None
        self._withdrawn = False

    @workflow.run
    async def run(self, inp: m.EInvoiceInput) -> str:
        try:
            await workflow.wait_condition(self._requested, timeout=inp.link_ttl)
            assert self._request is not None and self._requested_at is not None
            mail = m.SendLink(
                request_id=self._id,
                account_id=self._request.account_id,
                link_number=1,
                issued_at=self._requested_at,
                expires_at=self._requested_at + inp.link_ttl,
            )
            await call(m.SEND_LINK, mail, m.LinkMailed)
            await workflow.wait_condition(self._confirmed, timeout=inp.link_ttl)
        except TimeoutError:
            return "expired"
        assert self._consent_id is not None
        await call(m.NOTIFY, m.Notify(consent_id=self._consent_id, kind="active"))
        await workflow.wait_condition(lambda: self._withdrawn)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return "withdrawn"

    @workflow.update
    async def request(self, req: m.Request) -> m.ConfirmationPending:
        check = m.CheckRequest(partner_number=self._in.partner_number, account_id=req.account_id)
        await call(m.CHECK_REQUEST, check)
        self._request, self._requested_at = req, workflow.now()
        return m.ConfirmationPending(
            link_number=1,
            expires_at=self._requested_at + self._in.link_ttl,
            next_resend_at=None,
            resends_left=0,
        )

    @workflow.update
    async def confirm(self, req: m.Confirm) -> m.ConfirmAnswer:
        assert self._request is not None and self._requested_at is not None
        redeem = m.Redeem(
            request_id=self._id,
            partner_number=self._in.partner_number,
            account_id=self._request.account_id,
            token_hash=req.token_hash,
            at=workflow.now(),
            redemption_id=update_id(),
            terms_version=self._request.terms_version,
            channel=self._request.channel,
            requested_at=self._requested_at,
        )
        answer: m.ConfirmAnswer = await call(m.REDEEM, redeem, m.ConfirmAnswer)
        if answer.outcome == m.ConfirmOutcome.ACTIVE:
            self._consent_id = answer.consent_id
        return answer

    @workflow.signal
    def withdraw(self, req: m.Withdraw) -> None:
        self._withdrawn = True

    def _requested(self) -> bool:
        return self._request is not None

    def _confirmed(self) -> bool:
        return self._consent_id is not None

    @property
    def _id(self) -> str:
        return f"{self._in.partner_number}.{self._in.request_key}"
