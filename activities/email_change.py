"""E-mail change activities: the confirmation link to the new address, the change itself, the
undo link to the old address, the undo and lock, the staff's unlock. Every one is safe to run
twice; the addresses are read from the store's ``email_changes`` row, never from Temporal."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.delivery import deliver
from activities.links import LinkMailing, issue_link, outcomes, redeem_link
from activities.mail import local_time, message_id
from ebok.models import email_change as m
from ebok.store.db import UnitOfWork
from ebok.store.profiles import EmailChange
from ebok.store.tokens import TokenState

__all__ = ["EmailChangeActivities", "masked"]

CHANGE_GONE = "ChangeGone"

_CONFIRMED = outcomes(m.ConfirmOutcome.CHANGED)
_UNDONE = outcomes(m.UndoOutcome.UNDONE)


def masked(email: str) -> str:
    """``j***@example.pl``: enough for the owner of the old address to recognise the new one
    (or not), without handing a stranger the whole of it."""
    local, _, domain = email.rpartition("@")
    return f"{local[:1]}***@{domain}"


class EmailChangeActivities(LinkMailing):
    @activity.defn(name=m.SEND_CONFIRMATION)
    async def send_confirmation(self, req: m.SendLink) -> m.LinkMailed:
        """Link number N to the new address. A late retry after the change sends nothing."""
        mid = message_id("email-change", req.change_id, req.link_number, self._composer.domain)
        async with self._store.begin() as uow:
            change = await _change(uow, req.change_id)
            if await uow.mail.was_sent(mid) or change.changed_at or change.closed_at:
                return m.LinkMailed(message_id=mid)
            link = await self._issue(uow, req, m.CONFIRM_PURPOSE, m.CONFIRM_PAGE)
        mail = self._composer.compose(
            "email_change_confirm",
            change.language,
            change.new_email,
            mid,
            link=link,
            expires_at=local_time(req.expires_at),
        )
        await deliver(self._store, self._email, mail, "email-change", change.account_id)
        return m.LinkMailed(message_id=mid)

    @activity.defn(name=m.CONFIRM)
    async def confirm(self, req: m.Redeem) -> m.ConfirmAnswer:
        """Use the confirmation link and, in the same transaction, change the address."""
        async with self._store.begin() as uow:
            used = await redeem_link(
                uow, m.CONFIRM_PURPOSE, req.token_hash, req.at, req.redemption_id, req.change_id
            )
            if used.first:
                if await uow.email_changes.apply(req.change_id, req.at):
                    return m.ConfirmAnswer(outcome=m.ConfirmOutcome.CHANGED, changed_at=req.at)
                return m.ConfirmAnswer(outcome=m.ConfirmOutcome.TAKEN)
            if used.state is TokenState.REDEEMED:  # a retry whose first run committed
                change = await _change(uow, req.change_id)
                if change.changed_at is not None:
                    return m.ConfirmAnswer(
                        outcome=m.ConfirmOutcome.CHANGED, changed_at=change.changed_at
                    )
                return m.ConfirmAnswer(outcome=m.ConfirmOutcome.TAKEN)
            return m.ConfirmAnswer(outcome=_CONFIRMED[used.state])

    @activity.defn(name=m.SEND_UNDO_LINK)
    async def send_undo_link(self, req: m.SendLink) -> m.LinkMailed:
        """Tell the old address, with the link that undoes the change."""
        mid = message_id("email-undo", req.change_id, req.link_number, self._composer.domain)
        async with self._store.begin() as uow:
            change = await _change(uow, req.change_id)
            if await uow.mail.was_sent(mid) or change.undone_at:
                return m.LinkMailed(message_id=mid)
            link = await self._issue(uow, req, m.UNDO_PURPOSE, m.UNDO_PAGE)
        assert change.changed_at is not None
        mail = self._composer.compose(
            "email_change_undo",
            change.language,
            change.old_email,
            mid,
            new_email=masked(change.new_email),
            changed_at=local_time(change.changed_at),
            link=link,
            expires_at=local_time(req.expires_at),
        )
        await deliver(self._store, self._email, mail, "email-undo", change.account_id)
        return m.LinkMailed(message_id=mid)

    @activity.defn(name=m.UNDO)
    async def undo(self, req: m.Redeem) -> m.UndoAnswer:
        """Use the undo link: the old address back and the account locked, in one transaction."""
        async with self._store.begin() as uow:
            used = await redeem_link(
                uow, m.UNDO_PURPOSE, req.token_hash, req.at, req.redemption_id, req.change_id
            )
            if used.first:
                await uow.email_changes.undo(req.change_id, req.at)
                return m.UndoAnswer(outcome=m.UndoOutcome.UNDONE, undone_at=req.at)
            if used.state is TokenState.REDEEMED:
                change = await _change(uow, req.change_id)
                return m.UndoAnswer(outcome=m.UndoOutcome.UNDONE, undone_at=change.undone_at)
            return m.UndoAnswer(outcome=_UNDONE[used.state])

    @activity.defn(name=m.NOTIFY)
    async def notify(self, req: m.Notify) -> None:
        """The customer (at the address the account has now) and the back office."""
        async with self._store.begin() as uow:
            change = await _change(uow, req.change_id)
            account = await uow.accounts.get(change.account_id)
            to_customer = message_id("email-locked", req.change_id, 1, self._composer.domain)
            to_staff = message_id("email-locked-staff", req.change_id, 1, self._composer.domain)
            customer_done = await uow.mail.was_sent(to_customer)
            staff_done = await uow.mail.was_sent(to_staff)
        assert change.undone_at is not None
        if not customer_done and account is not None:
            mail = self._composer.compose(
                "email_change_locked",
                account.language,
                account.email,
                to_customer,
                undone_at=local_time(change.undone_at),
            )
            await deliver(self._store, self._email, mail, "email-locked", change.account_id)
        if not staff_done:
            mail = self._composer.compose(
                "email_change_staff",
                "pl",
                self._settings.backoffice_email,
                to_staff,
                workflow_id=m.ID_PREFIX + change.account_id,
                account_id=change.account_id,
                undone_at=local_time(change.undone_at),
            )
            await deliver(self._store, self._email, mail, "escalation", change.account_id)

    @activity.defn(name=m.UNLOCK)
    async def unlock(self, req: m.UnlockAccount) -> None:
        async with self._store.begin() as uow:
            await uow.email_changes.unlock(req.change_id, req.staff, req.at)

    @activity.defn(name=m.CLOSE)
    async def close(self, req: m.CloseChange) -> None:
        """The row records how the change ended; open links of a change cancelled or never
        delivered stop working. An expired link is left as it is: followed later, it should
        say "expired"."""
        async with self._store.begin() as uow:
            if req.state in ("cancelled", "undeliverable", "taken"):
                await uow.tokens.revoke_all(m.CONFIRM_PURPOSE, req.change_id, req.at)
            await uow.email_changes.close(req.change_id, req.state, req.at)

    async def _issue(self, uow: UnitOfWork, req: m.SendLink, purpose: str, page: str) -> str:
        return await issue_link(
            uow,
            self._settings,
            purpose=purpose,
            page=page,
            subject_id=req.change_id,
            serial=req.link_number,
            issued_at=req.issued_at,
            expires_at=req.expires_at,
        )


async def _change(uow: UnitOfWork, change_id: str) -> EmailChange:
    change = await uow.email_changes.get(change_id)
    if change is None:
        raise ApplicationError("no such e-mail change", type=CHANGE_GONE, non_retryable=True)
    return change
