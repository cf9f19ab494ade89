"""The customer's data and RODO consents through the facade, and billing's outbox.

Profile changes and consents are store writes with no process to wait for: validated first
(errors name the field; nothing is written on bad input), then written in one transaction.
A change of data billing owns (phone, correspondence address) is put in billing's outbox in
that same transaction, once per partner the account is linked to.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from ebok.errors import InvalidInput, NotFound
from ebok.models.profile import (
    Address,
    ConsentEvent,
    ConsentPurpose,
    ConsentState,
    GiveConsent,
    Notifications,
    Profile,
    ProfileChange,
    WithdrawConsent,
)
from ebok.store.accounts import AccountRecord
from ebok.store.db import Store, UnitOfWork
from ebok.store.profiles import NOTIFY_KINDS, BillingChange, ProfileRecord
from ebok.store.rodo import RodoConsent
from facade.base import FacadeBase, validate

__all__ = ["ConsentExport", "ProfileFacade", "export_billing_changes"]


class ConsentExport(BaseModel):
    """An account's consents as one JSON document (for the customer, or an audit)."""

    account_id: str
    exported_at: datetime
    current: list[ConsentState]
    history: list[ConsentEvent]


class ProfileFacade(FacadeBase):
    async def profile(self, account_id: str) -> Profile:
        async with self.store.begin() as uow:
            return await _profile(uow, account_id)

    async def update_profile(self, account_id: str, **changes: Any) -> Profile:
        """Change any of ``phone``, ``address`` {street, postal_code, city}, ``language``
        (pl/en: the mails' language) and ``notifications`` {invoices, reminders, outages,
        planned_works} (the kinds named). Fields left out stay; ``phone=None`` and
        ``address=None`` remove them."""
        change: ProfileChange = validate(ProfileChange, **changes)
        given = change.model_fields_set
        if not given:
            raise InvalidInput.one("input", "nothing to change")
        if "language" in given and change.language is None:
            raise InvalidInput.one("language", "must be pl or en")
        now = datetime.now(UTC)
        async with self.store.begin() as uow:
            await _account(uow, account_id)
            before = await uow.profiles.get(account_id)
            values: dict[str, Any] = {}
            if "phone" in given:
                values["phone"] = change.phone
            if "address" in given:
                a = change.address
                values.update(
                    street=a.street if a else None,
                    postal_code=a.postal_code if a else None,
                    city=a.city if a else None,
                )
            if change.notifications is not None:  # only the kinds named change
                wanted = change.notifications
                values.update({f"notify_{k}": getattr(wanted, k) for k in wanted.model_fields_set})
            if values:
                await uow.profiles.save(account_id, values, now)
            if change.language is not None:
                await uow.profiles.set_language(account_id, change.language)
            await _to_billing(uow, account_id, before, values, now)
            return await _profile(uow, account_id)

    # --- RODO consents --------------------------------------------------------------------------

    async def give_consent(
        self,
        account_id: str,
        purpose: str,
        version: str,
        channel: str = "web",
        *,
        text: str | None = None,
        text_sha256: str | None = None,
    ) -> ConsentState:
        """Record the consent to the text of ``version`` the customer was shown (``text``, of
        which only the SHA-256 is kept, or ``text_sha256``). Giving the same again is a no-op."""
        req: GiveConsent = validate(
            GiveConsent,
            purpose=purpose,
            version=version,
            channel=channel,
            text=text,
            text_sha256=text_sha256,
        )
        if (req.text is None) == (req.text_sha256 is None):
            raise InvalidInput.one("text", "give the consent text shown, or its text_sha256")
        digest = req.text_sha256 or hashlib.sha256(str(req.text).encode()).hexdigest()
        async with self.store.begin() as uow:
            await _account(uow, account_id)
            now = await uow.rodo.current(account_id, req.purpose.value)
            same = now is not None and (now.action, now.version, now.text_sha256) == (
                "given", req.version, digest,
            )  # fmt: skip
            if not same:
                now = await uow.rodo.record(
                    account_id, req.purpose.value, "given", req.version, req.channel, digest,
                    datetime.now(UTC),
                )  # fmt: skip
            return _state(req.purpose, now)

    async def withdraw_consent(
        self, account_id: str, purpose: str, channel: str = "web"
    ) -> ConsentState:
        """Withdraw as easily as it was given (RODO art. 7(3)): one call, any channel. With
        nothing in force it changes nothing."""
        req: WithdrawConsent = validate(WithdrawConsent, purpose=purpose, channel=channel)
        async with self.store.begin() as uow:
            await _account(uow, account_id)
            now = await uow.rodo.current(account_id, req.purpose.value)
            if now is not None and now.action == "given":
                now = await uow.rodo.record(
                    account_id, req.purpose.value, "withdrawn", now.version, req.channel,
                    now.text_sha256, datetime.now(UTC),
                )  # fmt: skip
            return _state(req.purpose, now)

    async def consents(self, account_id: str) -> list[ConsentState]:
        """Where each purpose stands now."""
        async with self.store.begin() as uow:
            await _account(uow, account_id)
            return [_state(p, await uow.rodo.current(account_id, p.value)) for p in ConsentPurpose]

    async def consent_history(self, account_id: str) -> list[ConsentEvent]:
        """Every giving and withdrawal, oldest first."""
        async with self.store.begin() as uow:
            await _account(uow, account_id)
            return [_event(e) for e in await uow.rodo.history(account_id)]

    async def export_consents(self, account_id: str) -> ConsentExport:
        return ConsentExport(
            account_id=account_id,
            exported_at=datetime.now(UTC),
            current=await self.consents(account_id),
            history=await self.consent_history(account_id),
        )


# Batch numbers are a 32-bit integer column: a larger one is no batch, not a database error.
LAST_BATCH = 2**31 - 1


async def export_billing_changes(
    store: Store, batch: int | None = None
) -> tuple[int | None, list[BillingChange]]:
    """The changes for billing no export has taken yet, as a new batch (``batch`` given:
    that batch again, for a file that was lost). ``(None, [])`` when there is nothing new."""
    if batch is not None and not 1 <= batch <= LAST_BATCH:
        raise NotFound(f"no export batch {batch}")  # beyond the column's range: none such
    async with store.begin() as uow:
        if batch is not None:
            found = await uow.billing_outbox.batch(batch)
            if not found:
                raise NotFound(f"no export batch {batch}")
            return batch, found
        return await uow.billing_outbox.take(datetime.now(UTC))


# --- helpers --------------------------------------------------------------------------------------


async def _account(uow: UnitOfWork, account_id: str) -> AccountRecord:
    account = await uow.accounts.get(account_id)
    if account is None:
        raise NotFound("no such account")
    return account


async def _profile(uow: UnitOfWork, account_id: str) -> Profile:
    account = await _account(uow, account_id)
    p = await uow.profiles.get(account_id)
    address = None
    if p is not None and p.street and p.postal_code and p.city:
        address = Address(street=p.street, postal_code=p.postal_code, city=p.city)
    notifications = (
        Notifications(**{k: getattr(p, f"notify_{k}") for k in NOTIFY_KINDS})
        if p
        else Notifications()
    )
    return Profile(
        account_id=account.id,
        email=account.email,
        language=account.language,
        status=account.status,
        phone=p.phone if p else None,
        address=address,
        notifications=notifications,
        updated_at=p.updated_at if p else None,
    )


async def _to_billing(
    uow: UnitOfWork,
    account_id: str,
    before: ProfileRecord | None,
    values: dict[str, Any],
    at: datetime,
) -> None:
    """What changed of the data billing owns goes to its outbox, per linked partner."""
    changed: dict[str, dict[str, Any]] = {}
    if "phone" in values and values["phone"] != (before.phone if before else None):
        changed["phone"] = {"phone": values["phone"]}
    address = ("street", "postal_code", "city")
    if "street" in values and any(
        values[f] != (getattr(before, f) if before else None) for f in address
    ):
        changed["address"] = {f: values[f] for f in address}
    if not changed:
        return
    for partner in sorted(await uow.billing.partners_of_account(account_id)):
        for field, value in changed.items():
            await uow.billing_outbox.add(partner, account_id, field, value, at)


def _state(purpose: ConsentPurpose, event: RodoConsent | None) -> ConsentState:
    if event is None:
        return ConsentState(purpose=purpose, given=False)
    return ConsentState(
        purpose=purpose,
        given=event.action == "given",
        version=event.version,
        since=event.at,
        channel=event.channel,
    )


def _event(e: RodoConsent) -> ConsentEvent:
    return ConsentEvent.model_validate(e, from_attributes=True)
