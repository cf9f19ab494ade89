"""E-invoice consent through the facade: request, confirm (the link), resend, withdraw, status.

Only an account linked to the partner may ask; the confirmation mail goes to the account's
address from the store. One consent cycle is one run of ``einvoice-<partner number>``: a
request after the previous run closed (withdrawn, or the link expired) starts a new run.
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import datetime

from pydantic import TypeAdapter
from temporalio.client import WorkflowFailureError
from temporalio.common import SearchAttributePair
from temporalio.service import RPCError, RPCStatusCode

from ebok.errors import InvalidInput, NotFound, WrongState
from ebok.ids import PartnerNumber
from ebok.models import einvoice as m
from ebok.models.registration import RegistrationId
from ebok.models.search import EBOK_PARTNER
from ebok.store.consents import Consent
from ebok.store.tokens import TokenState
from facade.base import FacadeBase, checked, validate
from facade.links import follow, state_after_close

__all__ = ["EInvoiceFacade", "einvoice_workflow_id"]

_PARTNER: TypeAdapter[str] = TypeAdapter(PartnerNumber)
_ACCOUNT: TypeAdapter[str] = TypeAdapter(RegistrationId)
# How long a request waits for the previous cycle's run to send its last mail and close.
_CLOSING_PATIENCE = 30.0


def einvoice_workflow_id(partner_number: str) -> str:
    return m.ID_PREFIX + checked(_PARTNER, "partner_number", partner_number)


class EInvoiceFacade(FacadeBase):
    async def request_einvoice(
        self, account_id: str, partner_number: str, terms_version: str, channel: str = "web"
    ) -> m.ConfirmationPending:
        """Ask for e-invoices; the confirmation link goes to the account's address. Again while
        a link is pending: a new link (RateLimited within the cooldown).

        Raises InvalidInput naming ``partner_number`` if the account is not linked to it,
        WrongState if e-invoice is already active."""
        partner = checked(_PARTNER, "partner_number", partner_number)
        req: m.Request = validate(
            m.Request,
            account_id=checked(_ACCOUNT, "account_id", account_id),
            terms_version=terms_version,
            channel=channel,
        )
        if req.terms_version != self.settings.einvoice_terms_version:
            raise InvalidInput.one(
                "terms_version",
                f"is not the e-invoice terms version in force "
                f"({self.settings.einvoice_terms_version})",
            )
        async with self.store.begin() as uow:
            if await uow.accounts.get(req.account_id) is None:
                raise NotFound("no such account")
            if partner not in await uow.billing.partners_of_account(req.account_id):
                raise InvalidInput.one(
                    "partner_number", "is not linked to this account; link the account first"
                )
            if await uow.consents.active_for(partner) is not None:
                raise WrongState("e-invoice is already active for this partner")
        workflow_id = einvoice_workflow_id(partner)
        try:
            return await self._request(partner, workflow_id, req)
        except WrongState:
            if not await self._closing(workflow_id):
                raise
        return await self._request(partner, workflow_id, req)  # a new cycle after the closed one

    async def confirm_einvoice(self, token: str) -> m.ConfirmOutcome:
        """Follow a confirmation link. Anything unknown, malformed or replaced is ``invalid``."""
        link = await follow(self.store, m.LINK_PURPOSE, token)
        if link is None:
            return m.ConfirmOutcome.INVALID
        workflow_id = einvoice_workflow_id(link.subject_id.partition(".")[0])
        try:
            answer = await self._update(
                workflow_id,
                "confirm",
                m.Confirm(token_hash=link.token_hash),
                m.ConfirmAnswer,
            )
        except NotFound:  # that cycle has closed
            state = await state_after_close(
                self.store, m.LINK_PURPOSE, link.token_hash, await self._closed_at(workflow_id)
            )
            return _AFTER_CLOSE.get(state, m.ConfirmOutcome.INVALID)
        return answer.outcome

    async def resend_einvoice(
        self, partner_number: str, requested_by: str = "customer"
    ) -> m.ConfirmationPending:
        req = validate(m.Resend, requested_by=requested_by)
        return await self._update(
            einvoice_workflow_id(partner_number), "resend", req, m.ConfirmationPending
        )

    async def withdraw_einvoice(
        self,
        partner_number: str,
        channel: str = "web",
        by: str = "customer",
        reason: str = "",
        *,
        account_id: str | None = None,
    ) -> m.EInvoiceStatus:
        """Back to paper from the next invoice. With ``account_id`` (the customer's own
        request), the account must be linked to the partner."""
        partner = checked(_PARTNER, "partner_number", partner_number)
        workflow_id = einvoice_workflow_id(partner)
        req = validate(m.Withdraw, channel=channel, by=by, reason=reason)
        if account_id is not None:
            account = checked(_ACCOUNT, "account_id", account_id)
            async with self.store.begin() as uow:
                linked = await uow.billing.partners_of_account(account)
            if partner not in linked:
                raise InvalidInput.one("partner_number", "is not linked to this account")
        return await self._update(workflow_id, "withdraw", req, m.EInvoiceStatus)

    async def einvoice_status(self, partner_number: str) -> m.EInvoiceStatus:
        return await self._query(einvoice_workflow_id(partner_number), "status", m.EInvoiceStatus)

    async def einvoice_consents(self, partner_number: str) -> list[Consent]:
        """Every consent of the partner, oldest first, withdrawn ones included (the audit)."""
        partner = checked(_PARTNER, "partner_number", partner_number)
        async with self.store.begin() as uow:
            return await uow.consents.history(partner)

    # --- plumbing -------------------------------------------------------------------------------

    async def _closing(self, workflow_id: str) -> bool:
        """True once the run refusing a request (it is finishing: withdrawn or expired, its
        last mail under way) has closed, so a new cycle may start."""
        status = await self._query(workflow_id, "status", m.EInvoiceStatus)
        if status.state not in m.FINISHED:
            return False
        handle = self.temporal.get_workflow_handle(workflow_id)
        try:
            await asyncio.wait_for(handle.result(), _CLOSING_PATIENCE)
        except WorkflowFailureError:
            pass  # closed all the same
        return True

    async def _closed_at(self, workflow_id: str) -> datetime | None:
        try:
            return (await self.temporal.get_workflow_handle(workflow_id).describe()).close_time
        except RPCError as e:
            if e.status == RPCStatusCode.NOT_FOUND:  # past the namespace's retention
                return None
            raise

    async def _request(
        self, partner: str, workflow_id: str, req: m.Request
    ) -> m.ConfirmationPending:
        """The ``request`` update to the open cycle, or to a new one started with it (the
        first request of a partner, or the first after the previous cycle closed)."""
        s = self.settings
        return await self._update_with_start(
            m.WORKFLOW_TYPE,
            m.EInvoiceInput(
                partner_number=partner,
                request_key=secrets.token_hex(8),  # used only if this starts a new run
                link_ttl=s.einvoice_link_ttl,
                resend_cooldown=s.einvoice_resend_cooldown,
                resend_limit=s.einvoice_resend_limit,
            ),
            workflow_id,
            "einvoice",
            m.State.NEW.value,
            "request",
            req,
            m.ConfirmationPending,
            also=[SearchAttributePair(EBOK_PARTNER, partner)],
        )


_AFTER_CLOSE = {
    TokenState.ALREADY_USED: m.ConfirmOutcome.ALREADY_USED,
    TokenState.EXPIRED: m.ConfirmOutcome.EXPIRED,
}
