"""Registration activities: tokens, account creation, mails. Every one is safe to run twice."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.delivery import deliver
from activities.links import LinkMailing, issue_link, outcomes, redeem_link
from activities.mail import local_time, message_id
from ebok.models import registration as m
from ebok.models.password_reset import REQUEST_PAGE as RESET_REQUEST_PAGE
from ebok.store.db import UnitOfWork
from ebok.store.registrations import RegistrationRecord

__all__ = ["ACTIVATION", "RegistrationActivities"]

ACTIVATION = "activation"  # purpose of the one-time token
REGISTRATION_GONE = "RegistrationGone"

_OUTCOME = outcomes(m.ActivationOutcome.ACTIVATED)


class RegistrationActivities(LinkMailing):
    @activity.defn(name=m.SEND_ACTIVATION)
    async def send_activation(self, req: m.SendActivation) -> m.ActivationMailed:
        """Issue link number N (older links stop working) and mail it. If the address already
        has an account, mail its owner a notice instead: the caller cannot tell the difference."""
        mid = message_id("activation", req.registration_id, req.link_number, self._composer.domain)
        async with self._store.begin() as uow:
            if await uow.mail.was_sent(mid):
                return m.ActivationMailed(message_id=mid)
            reg = await _registration(uow, req.registration_id)
            assert reg.email is not None and reg.login is not None
            if reg.status == m.Status.ACTIVATED.value:
                return m.ActivationMailed(message_id=mid)  # a late retry: nothing left to send
            owner = await uow.accounts.by_email(reg.email)
            if owner is not None:
                mail = self._composer.compose(
                    "account_exists",
                    owner.language,
                    owner.email,
                    mid,
                    login=owner.login,
                    login_link=self._settings.link("logowanie"),
                    reset_link=self._settings.link(RESET_REQUEST_PAGE),
                )
            else:
                link = await issue_link(
                    uow,
                    self._settings,
                    purpose=ACTIVATION,
                    page="aktywacja",
                    subject_id=req.registration_id,
                    serial=req.link_number,
                    issued_at=req.issued_at,
                    expires_at=req.expires_at,
                )
                mail = self._composer.compose(
                    "activation",
                    reg.language,
                    reg.email,
                    mid,
                    login=reg.login,
                    link=link,
                    expires_at=local_time(req.expires_at),
                )
            await uow.registrations.set_status(reg.id, m.Status.AWAITING_ACTIVATION.value)
        # Committed first: the link must work the moment the mail lands.
        await deliver(self._store, self._email, mail, "activation", req.registration_id)
        return m.ActivationMailed(message_id=mid)

    @activity.defn(name=m.REDEEM_TOKEN)
    async def redeem_token(self, req: m.RedeemToken) -> m.ActivationAnswer:
        """Use the link and create the account, in one transaction."""
        async with self._store.begin() as uow:
            reg = await uow.registrations.get(req.registration_id)
            if reg is None or reg.email is None:
                return m.ActivationAnswer(outcome=m.ActivationOutcome.INVALID)
            used = await redeem_link(
                uow, ACTIVATION, req.token_hash, req.at, req.redemption_id, req.registration_id
            )
            if used.first:
                if await _taken(uow, reg):
                    # Another registration of the same address or login won; this one can't.
                    raise ApplicationError(
                        "address or login taken meanwhile", type="Taken", non_retryable=True
                    )
                await uow.accounts.create_from(reg, req.at)
                await uow.registrations.set_status(
                    reg.id, m.Status.ACTIVATED.value, closed_at=req.at
                )
            return m.ActivationAnswer(outcome=_OUTCOME[used.state])

    @activity.defn(name=m.SEND_WELCOME)
    async def send_welcome(self, req: m.SendWelcome) -> m.ActivationMailed:
        mid = message_id("welcome", req.registration_id, 1, self._composer.domain)
        async with self._store.begin() as uow:
            if await uow.mail.was_sent(mid):
                return m.ActivationMailed(message_id=mid)
            account = await uow.accounts.get(req.registration_id)
            if account is None:
                raise ApplicationError(
                    "no account for this registration", type=REGISTRATION_GONE, non_retryable=True
                )
        mail = self._composer.compose(
            "welcome",
            account.language,
            account.email,
            mid,
            login=account.login,
            link_partner=self._settings.link("powiaz-konto"),
        )
        await deliver(self._store, self._email, mail, "welcome", req.registration_id)
        return m.ActivationMailed(message_id=mid)

    @activity.defn(name=m.CLOSE)
    async def close(self, req: m.CloseRegistration) -> None:
        async with self._store.begin() as uow:
            await uow.registrations.set_status(req.registration_id, req.status.value, req.at)
            if req.status is not m.Status.EXPIRED:  # an expired link should say so when followed
                await uow.tokens.revoke_all(ACTIVATION, req.registration_id, req.at)

    @activity.defn(name=m.PURGE)
    async def purge(self, req: m.PurgeRegistration) -> None:
        async with self._store.begin() as uow:
            await uow.registrations.purge(req.registration_id, req.at)
            await uow.tokens.delete_all(ACTIVATION, req.registration_id)


async def _registration(uow: UnitOfWork, registration_id: str) -> RegistrationRecord:
    reg = await uow.registrations.get(registration_id)
    if reg is None or reg.email is None:
        raise ApplicationError(
            "registration not found or purged", type=REGISTRATION_GONE, non_retryable=True
        )
    return reg


async def _taken(uow: UnitOfWork, reg: RegistrationRecord) -> bool:
    assert reg.email is not None and reg.login is not None
    return await uow.accounts.taken(reg.email, reg.login)
