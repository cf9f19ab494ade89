"""Password-reset activities: the reset link, its redemption (the new password set and every
session ended, in one transaction) and the "password changed" mail. Safe to run twice."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.delivery import deliver
from activities.links import LinkMailing, issue_link, outcomes, redeem_link
from activities.mail import local_time, message_id
from ebok.models import password_reset as m
from ebok.store.accounts import AccountRecord
from ebok.store.db import UnitOfWork
from ebok.store.tokens import TokenState

__all__ = ["PasswordResetActivities"]

ACCOUNT_GONE = "AccountGone"
NOTHING_STAGED = "NothingStaged"

_OUTCOME = outcomes(m.ResetOutcome.CHANGED)
# The mail of a link, by why it was asked for.
_LINK_TEMPLATE = {
    "customer": "password_reset",
    "staff": "password_reset",
    "locked": "account_locked",
}


class PasswordResetActivities(LinkMailing):
    @activity.defn(name=m.SEND_LINK)
    async def send_link(self, req: m.SendLink) -> m.LinkMailed:
        """Issue link number N of the cycle (older ones stop working) and mail it to the
        account's address. A late retry after the change sends nothing."""
        kind = "pw-reset" if req.reason != "locked" else "pw-locked"
        mid = message_id(kind, req.reset_id, req.link_number, self._composer.domain)
        async with self._store.begin() as uow:
            if await uow.mail.was_sent(mid):
                return m.LinkMailed(message_id=mid)
            account = await _account(uow, req.account_id)
            await uow.sign_in.add_reset(req.reset_id, req.account_id, req.reason, req.issued_at)
            reset = await uow.sign_in.reset(req.reset_id)
            if reset is not None and reset.changed_at is not None:
                return m.LinkMailed(message_id=mid)
            link = await issue_link(
                uow,
                self._settings,
                purpose=m.LINK_PURPOSE,
                page=m.RESET_PAGE,
                subject_id=req.reset_id,
                serial=req.link_number,
                issued_at=req.issued_at,
                expires_at=req.expires_at,
            )
        # Committed first: the link must work the moment the mail lands.
        mail = self._composer.compose(
            _LINK_TEMPLATE[req.reason],
            account.language,
            account.email,
            mid,
            login=account.login,
            link=link,
            expires_at=local_time(req.expires_at),
        )
        await deliver(self._store, self._email, mail, kind, req.reset_id)
        return m.LinkMailed(message_id=mid)

    @activity.defn(name=m.REDEEM)
    async def redeem(self, req: m.RedeemLink) -> m.RedeemAnswer:
        """Use the link and set the hash the facade staged for this redemption; the
        credential generation goes up, so every session ends."""
        async with self._store.begin() as uow:
            used = await redeem_link(
                uow, m.LINK_PURPOSE, req.token_hash, req.at, req.redemption_id, req.reset_id
            )
            if used.first:
                staged = await uow.sign_in.staged_hash(req.redemption_id, req.reset_id)
                if staged is None:  # rolls the redemption back: the link stays usable
                    raise ApplicationError(
                        "no new password staged for this redemption",
                        type=NOTHING_STAGED,
                        non_retryable=True,
                    )
                generation = await uow.sign_in.set_password(req.account_id, staged)
                await uow.sign_in.mark_changed(req.reset_id, req.at)
                await uow.sign_in.drop_staged(req.reset_id)
                return m.RedeemAnswer(outcome=m.ResetOutcome.CHANGED, generation=generation)
            if used.state is TokenState.REDEEMED:  # a retry whose first run committed
                return m.RedeemAnswer(
                    outcome=m.ResetOutcome.CHANGED,
                    generation=await uow.sign_in.generation(req.account_id),
                )
            return m.RedeemAnswer(outcome=_OUTCOME[used.state])

    @activity.defn(name=m.NOTIFY_CHANGED)
    async def notify_changed(self, req: m.NotifyChanged) -> m.LinkMailed:
        """ "Your password was changed", with what to do if it was not the customer."""
        mid = message_id("pw-changed", req.reset_id, 1, self._composer.domain)
        async with self._store.begin() as uow:
            if await uow.mail.was_sent(mid):
                return m.LinkMailed(message_id=mid)
            account = await _account(uow, req.account_id)
        mail = self._composer.compose(
            "password_changed",
            account.language,
            account.email,
            mid,
            login=account.login,
            changed_at=local_time(req.changed_at),
            reset_link=self._settings.link(m.REQUEST_PAGE),
        )
        await deliver(self._store, self._email, mail, "pw-changed", req.reset_id)
        return m.LinkMailed(message_id=mid)

    @activity.defn(name=m.CLOSE)
    async def close(self, req: m.CloseReset) -> None:
        async with self._store.begin() as uow:
            if not req.expired:  # an expired link should say so when followed
                await uow.tokens.revoke_all(m.LINK_PURPOSE, req.reset_id, req.at)
            await uow.sign_in.drop_staged(req.reset_id)


async def _account(uow: UnitOfWork, account_id: str) -> AccountRecord:
    account = await uow.accounts.get(account_id)
    if account is None:
        raise ApplicationError("no such account", type=ACCOUNT_GONE, non_retryable=True)
    return account
