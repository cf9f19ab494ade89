"""Partner-linking activities: matching against billing data, the operator's contract check,
the link itself and the mails. Each runs at least once and is safe to run again."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.delivery import deliver
from activities.mail import MailComposer, local_time, message_id
from adapters.email.base import EmailSender
from adapters.operator.base import (
    ContractQuery,
    GridOperator,
    OperatorRejected,
    OperatorUnavailable,
)
from ebok.models import linking as m
from ebok.settings import Settings
from ebok.store.accounts import AccountRecord
from ebok.store.db import Store, UnitOfWork

__all__ = ["LinkingActivities"]

ACCOUNT_GONE = "AccountGone"


class LinkingActivities:
    def __init__(
        self,
        store: Store,
        operator: GridOperator,
        email: EmailSender,
        composer: MailComposer,
        settings: Settings,
    ) -> None:
        self._store, self._operator, self._email = store, operator, email
        self._composer, self._settings = composer, settings

    @activity.defn(name=m.MATCH)
    async def match(self, req: m.MatchRequest) -> m.MatchResult:
        """Does the proof fit the partner? Read-only, so a retry cannot double-count."""
        proof, partner = req.request, req.request.partner_number
        async with self._store.begin() as uow:
            await _account(uow, req.account_id)
            if await uow.billing.partner(partner) is None:
                return m.MatchResult(matched=False)
            if proof.ppe is not None:
                fits = await uow.billing.partner_of_ppe(proof.ppe) == partner
            else:
                assert proof.invoice_number is not None and proof.gross_grosze is not None
                fits = await uow.billing.invoice_matches(
                    partner,
                    proof.invoice_number,
                    proof.gross_grosze,
                    since=req.invoices_since.date(),
                )
            if not fits:
                return m.MatchResult(matched=False)
            if partner in await uow.billing.partners_of_account(req.account_id):
                return m.MatchResult(matched=True, already_linked=True)
            if not req.allow_shared_partner and await uow.billing.links_of_partner(partner):
                return m.MatchResult(matched=True, taken=True)
            ppes = [p.ppe for p in await uow.billing.ppes_of_partner(partner)]
        return m.MatchResult(matched=True, ppes=ppes)

    @activity.defn(name=m.CHECK_CONTRACT)
    async def check_contract(self, req: m.ContractCheck) -> m.ContractVerdict:
        """Ask the grid operator. The holder's PESEL/NIP goes from the store to the operator
        and nowhere else (not into the result, not into an error message)."""
        async with self._store.begin() as uow:
            partner = await uow.billing.partner(req.partner_number)
        if partner is None or not (partner.nip or partner.pesel):
            raise ApplicationError(
                "partner has no NIP or PESEL on file", type="OperatorRejected", non_retryable=True
            )
        query = ContractQuery(ppe=req.ppe, holder_id=partner.nip or partner.pesel or "")
        try:
            answer = await self._operator.check_distribution_contract(query)
        except OperatorRejected as e:
            raise ApplicationError(
                f"operator refused the request ({e.status_code or 'no status'})",
                type="OperatorRejected",
                non_retryable=True,
            ) from None
        except OperatorUnavailable as e:
            raise ApplicationError(
                f"operator unavailable ({type(e).__name__})", type="OperatorUnavailable"
            ) from None
        return m.ContractVerdict(
            ppe=answer.ppe,
            status=answer.status.value,
            contract_type=answer.contract_type.value if answer.contract_type else None,
            reference=answer.reference,
        )

    @activity.defn(name=m.RECORD_LINK)
    async def record_link(self, req: m.RecordLink) -> m.LinkRecorded:
        async with self._store.begin() as uow:
            await uow.billing.lock_partner(req.partner_number)  # serialise rival accounts
            others = [
                a
                for a in await uow.billing.links_of_partner(req.partner_number)
                if a != req.account_id
            ]
            if others and not req.allow_shared_partner:
                return m.LinkRecorded(linked=False, taken=True)
            await uow.billing.link(req.account_id, req.partner_number, req.at, req.method)
        return m.LinkRecorded(linked=True)

    @activity.defn(name=m.NOTIFY_CUSTOMER)
    async def notify_customer(self, req: m.NotifyCustomer) -> None:
        run = activity.info().workflow_run_id or "-"  # one decision per run; retries share it
        mid = message_id("linking", req.account_id, run, self._composer.domain)
        async with self._store.begin() as uow:
            if await uow.mail.was_sent(mid):
                return
            account = await _account(uow, req.account_id)
        mail = self._composer.compose(
            "linking_linked" if req.linked else "linking_refused",
            account.language,
            account.email,
            mid,
            login=account.login,
            partner_number=req.partner_number,
            refusal=req.refusal.value if req.refusal else "",
            ppes=req.ppes,
            staff_reason=req.staff_reason,
            link_partner=self._settings.link("powiaz-konto"),
        )
        await deliver(self._store, self._email, mail, "linking", req.account_id)

    @activity.defn(name=m.ESCALATE)
    async def escalate(self, req: m.Escalate) -> None:
        """Tell the back office a case waits for them (no personal data: ids and times)."""
        run = activity.info().workflow_run_id or "-"
        mid = message_id(
            "linking-escalation", req.account_id, f"{run}.{req.serial}", self._composer.domain
        )
        async with self._store.begin() as uow:
            if await uow.mail.was_sent(mid):
                return
        mail = self._composer.compose(
            "linking_escalation",
            "pl",
            self._settings.backoffice_email,
            mid,
            workflow_id=m.ID_PREFIX + req.account_id,
            partner_number=req.partner_number,
            waiting_since=local_time(req.waiting_since),
            serial=req.serial,
        )
        await deliver(self._store, self._email, mail, "escalation", req.account_id)


async def _account(uow: UnitOfWork, account_id: str) -> AccountRecord:
    account = await uow.accounts.get(account_id)
    if account is None:
        raise ApplicationError("no such account", type=ACCOUNT_GONE, non_retryable=True)
    return account
