"""Registered letters: the partner's postal address, and the post's news of a notice letter
(a signed webhook, or a poll of every letter still on its way) passed to the invoice's
workflow as its ``letter`` signal. The store keeps each letter's fate; a final state is never
replaced, and the workflow keeps the first receipt day it learns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from temporalio.client import WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from adapters.post.base import LetterFate, PostalService, PostRejected, Recipient
from ebok.errors import InvalidInput
from ebok.models import invoice as m
from ebok.store.letters import PostalAddress
from facade.base import FacadeBase
from facade.wiring import postal_service

__all__ = ["LetterFacade", "LetterOutcome"]


@dataclass(frozen=True)
class LetterOutcome:
    outcome: str  # "signalled", "not_ours", "closed" (the invoice's workflow has ended)
    invoice_number: str | None = None
    state: str = ""


class LetterFacade(FacadeBase):
    _postal_service: PostalService | None = None

    def postal_adapter(self) -> PostalService:
        if self._postal_service is None:
            self._postal_service = postal_service(self.settings)
        return self._postal_service

    async def set_postal_address(
        self, partner_number: str, name: str, street: str, postal_code: str, city: str
    ) -> None:
        """Where the partner's registered letters go (from billing's customer master data)."""
        try:
            Recipient(name, street, postal_code, city)
        except ValueError as e:
            field = str(e).split(" ", 1)[0]
            raise InvalidInput.one(field, str(e)) from None
        async with self.store.begin() as uow:
            if await uow.billing.partner(partner_number) is None:
                raise InvalidInput.one("partner_number", "is not a known business partner")
            await uow.letters.set_address(
                PostalAddress(
                    partner_number, name.strip(), street.strip(), postal_code.strip(), city.strip()
                ),
                datetime.now(UTC),
            )

    async def letter_notification(self, body: bytes, headers: Mapping[str, str]) -> LetterOutcome:
        """Believe the post's notification once its signature checks out (else
        NotificationRejected, with a reason safe to answer with), then tell the invoice."""
        fate = await self.postal_adapter().verify_notification(body, headers)
        return await self._letter_news(fate)

    async def poll_letters(self) -> list[LetterOutcome]:
        """Ask the post about every letter whose fate is not final yet (for a provider without
        webhooks, or one that missed some); run it from a schedule."""
        async with self.store.begin() as uow:
            pending = await uow.letters.pending()
        outcomes = []
        for tracking_id in pending:
            try:
                fate = await self.postal_adapter().letter_status(tracking_id)
            except PostRejected:
                continue  # unknown at the post: staff see the letter stuck in the status
            outcomes.append(await self._letter_news(fate))
        return outcomes

    async def _letter_news(self, fate: LetterFate) -> LetterOutcome:
        async with self.store.begin() as uow:
            number = await uow.letters.reported(fate, datetime.now(UTC))
        if number is None:
            return LetterOutcome("not_ours", None, fate.state.value)
        handle: WorkflowHandle[Any, Any] = self.temporal.get_workflow_handle(m.workflow_id(number))
        try:
            await handle.signal(m.SIGNAL_LETTER, fate)
        except RPCError as e:
            if e.status == RPCStatusCode.NOT_FOUND:
                return LetterOutcome("closed", number, fate.state.value)
            raise
        return LetterOutcome("signalled", number, fate.state.value)
