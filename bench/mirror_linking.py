"""Partner linking's bare shape calling our activities (see ``bench.mirror_shapes``)."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from bench.mirror_shapes import call
    from ebok.models import linking as m


@workflow.defn(name=m.WORKFLOW_TYPE)
class MirrorLinking:
    """``BareLinking`` with our inputs: ``link`` runs the match and answers; the run checks the
    contract of each PPE, records the link and mails the customer, each an ordinary activity."""

    @workflow.init
    def __init__(self, inp: m.LinkingInput) -> None:
        self._in = inp
        self._request: m.LinkRequest | None = None
        self._ppes: list[str] = []

    @workflow.run
    async def run(self, inp: m.LinkingInput) -> m.LinkingStatus:
        await workflow.wait_condition(lambda: self._request is not None)
        assert self._request is not None
        partner = self._request.partner_number
        for ppe in self._ppes:
            check = m.ContractCheck(account_id=inp.account_id, partner_number=partner, ppe=ppe)
            await call(m.CHECK_CONTRACT, check, m.ContractVerdict)
        record = m.RecordLink(
            account_id=inp.account_id,
            partner_number=partner,
            method="invoice",
            at=workflow.now(),
            allow_shared_partner=inp.allow_shared_partner,
        )
        await call(m.RECORD_LINK, record, m.LinkRecorded)
        notice = m.NotifyCustomer(account_id=inp.account_id, partner_number=partner, linked=True)
        await call(m.NOTIFY_CUSTOMER, notice)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return m.LinkingStatus(
            account_id=inp.account_id, state=m.State.LINKED, partner_number=partner
        )

    @workflow.update
    async def link(self, req: m.LinkRequest) -> m.LinkAnswer:
        match = m.MatchRequest(
            account_id=self._in.account_id,
            request=req,
            invoices_since=workflow.now() - self._in.invoice_max_age,
            allow_shared_partner=self._in.allow_shared_partner,
        )
        found: m.MatchResult = await call(m.MATCH, match, m.MatchResult)
        if not found.matched:  # the bench's data always match: a refusal is a bench fault
            raise ApplicationError("no match", type="NoMatch")
        self._request, self._ppes = req, found.ppes
        return m.LinkAnswer(outcome=m.Outcome.CHECKING, attempts_left=self._in.max_failed_attempts)
