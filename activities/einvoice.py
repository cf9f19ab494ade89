"""E-invoice consent activities: the request check, the confirmation link, the consent record
and the customer's mails. Every one is safe to run twice."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.delivery import deliver
from activities.links import LinkMailing, issue_link, outcomes, redeem_link
from activities.mail import local_time, message_id
from ebok.models import einvoice as m
from ebok.store.accounts import AccountRecord
from ebok.store.consents import Consent
from ebok.store.db import UnitOfWork
from ebok.store.tokens import TokenState

__all__ = ["EInvoiceActivities"]

ACCOUNT_GONE = "AccountGone"
NOT_LINKED = "NotLinked"
ALREADY_ACTIVE = "AlreadyActive"
CONSENT_GONE = "ConsentGone"

_OUTCOME = outcomes(m.ConfirmOutcome.ACTIVE)


class EInvoiceActivities(LinkMailing):
    @activity.defn(name=m.CHECK_REQUEST)
    async def check_request(self, req: m.CheckRequest) -> None:
        """Only an account linked to the partner may ask, and only if paper is in force."""
        async with self._store.begin() as uow:
            await _account(uow, req.account_id)
            if not await _linked(uow, req.account_id, req.partner_number):
                raise ApplicationError(
                    "the account is not linked to this partner", type=NOT_LINKED, non_retryable=True
                )
            if await uow.consents.active_for(req.partner_number) is not None:
                raise ApplicationError(
                    "e-invoice is already active for this partner",
                    type=ALREADY_ACTIVE,
                    non_retryable=True,
                )

    @activity.defn(name=m.SEND_LINK)
    async def send_link(self, req: m.SendLink) -> m.LinkMailed:
        """Issue link number N of the request (older ones stop working) and mail it to the
        account's address. A late retry after the confirmation sends nothing."""
        mid = message_id("einvoice-link", req.request_id, req.link_number, self._composer.domain)
        async with self._store.begin() as uow:
            if await uow.mail.was_sent(mid) or await uow.consents.get(req.request_id):
                return m.LinkMailed(message_id=mid)
            account = await _account(uow, req.account_id)
            link = await issue_link(
                uow,
                self._settings,
                purpose=m.LINK_PURPOSE,
                page=m.CONFIRM_PAGE,
                subject_id=req.request_id,
                serial=req.link_number,
                issued_at=req.issued_at,
                expires_at=req.expires_at,
            )
        # Committed first: the link must work the moment the mail lands.
        mail = self._composer.compose(
            "einvoice_confirm",
            account.language,
            account.email,
            mid,
            login=account.login,
            partner_number=_partner_of(req.request_id),
            link=link,
            expires_at=local_time(req.expires_at),
        )
        await deliver(self._store, self._email, mail, "einvoice-link", req.account_id)
        return m.LinkMailed(message_id=mid)

    @activity.defn(name=m.REDEEM)
    async def redeem(self, req: m.Redeem) -> m.ConfirmAnswer:
        """Use the link and record the consent with the account's current address."""
        async with self._store.begin() as uow:
            if not await _linked(uow, req.account_id, req.partner_number):
                return m.ConfirmAnswer(outcome=m.ConfirmOutcome.NOT_LINKED)
            used = await redeem_link(
                uow, m.LINK_PURPOSE, req.token_hash, req.at, req.redemption_id, req.request_id
            )
            if used.first:
                account = await _account(uow, req.account_id)
                consent = await uow.consents.grant(
                    Consent(
                        id=req.request_id,
                        partner_number=req.partner_number,
                        account_id=req.account_id,
                        email=account.email,
                        language=account.language,
                        terms_version=req.terms_version,
                        channel=req.channel,
                        requested_at=req.requested_at,
                        granted_at=req.at,
                        withdrawn_at=None,
                        withdrawn_channel=None,
                    )
                )
                return _active(consent)
            if used.state is TokenState.REDEEMED:  # a retry whose first run committed
                recorded = await uow.consents.get(req.request_id)
                if recorded is not None:
                    return _active(recorded)
            return m.ConfirmAnswer(outcome=_OUTCOME[used.state])

    @activity.defn(name=m.RECORD_WITHDRAWAL)
    async def record_withdrawal(self, req: m.RecordWithdrawal) -> None:
        """Back to paper; a retry finds nothing active and changes nothing."""
        async with self._store.begin() as uow:
            await uow.consents.withdraw(req.partner_number, req.at, req.channel)

    @activity.defn(name=m.NOTIFY)
    async def notify(self, req: m.Notify) -> m.LinkMailed:
        mid = message_id(f"einvoice-{req.kind}", req.consent_id, 1, self._composer.domain)
        async with self._store.begin() as uow:
            if await uow.mail.was_sent(mid):
                return m.LinkMailed(message_id=mid)
            consent = await uow.consents.get(req.consent_id)
        if consent is None:
            raise ApplicationError("no such consent", type=CONSENT_GONE, non_retryable=True)
        mail = self._composer.compose(
            f"einvoice_{req.kind}",
            consent.language,
            consent.email,  # where the e-invoices went: the address the consent was given for
            mid,
            partner_number=consent.partner_number,
            terms_version=consent.terms_version,
            granted_at=local_time(consent.granted_at),
            withdrawn_at=local_time(consent.withdrawn_at) if consent.withdrawn_at else "",
            settings_link=self._settings.link("e-faktura"),
        )
        await deliver(self._store, self._email, mail, f"einvoice-{req.kind}", consent.account_id)
        return m.LinkMailed(message_id=mid)

    @activity.defn(name=m.CLOSE)
    async def close(self, req: m.CloseRequest) -> None:
        async with self._store.begin() as uow:
            await uow.tokens.revoke_all(m.LINK_PURPOSE, req.request_id, req.at)


def _partner_of(request_id: str) -> str:
    return request_id.partition(".")[0]


def _active(consent: Consent) -> m.ConfirmAnswer:
    return m.ConfirmAnswer(
        outcome=m.ConfirmOutcome.ACTIVE, consent_id=consent.id, granted_at=consent.granted_at
    )


async def _linked(uow: UnitOfWork, account_id: str, partner_number: str) -> bool:
    return partner_number in await uow.billing.partners_of_account(account_id)


async def _account(uow: UnitOfWork, account_id: str) -> AccountRecord:
    account = await uow.accounts.get(account_id)
    if account is None:
        raise ApplicationError("no such account", type=ACCOUNT_GONE, non_retryable=True)
    return account
