"""Partner linking through the facade: attempts, status and the back office's decisions."""

from __future__ import annotations

from decimal import Decimal

from pydantic import TypeAdapter

from ebok.errors import InvalidInput, NotFound
from ebok.models import linking as m
from ebok.models.registration import RegistrationId
from ebok.money import Money, MoneyError
from facade.base import FacadeBase, checked, validate

__all__ = ["LinkingFacade", "linking_workflow_id"]

_ACCOUNT_ID: TypeAdapter[str] = TypeAdapter(RegistrationId)


def linking_workflow_id(account_id: str) -> str:
    return m.ID_PREFIX + checked(_ACCOUNT_ID, "account_id", account_id)


def _grosze(gross: str | int | Decimal | Money | None) -> int | None:
    """The gross amount as printed on the invoice ("245,67") or already in grosze (int)."""
    if gross is None or isinstance(gross, int):
        return gross
    try:
        return (gross if isinstance(gross, Money) else Money.parse(gross)).grosze
    except (MoneyError, TypeError) as e:
        raise InvalidInput.one("gross_grosze", str(e)) from None


class LinkingFacade(FacadeBase):
    async def link_partner(
        self,
        account_id: str,
        partner_number: str,
        *,
        invoice_number: str | None = None,
        gross: str | int | Decimal | Money | None = None,
        ppe: str | None = None,
    ) -> m.LinkAnswer:
        """One attempt ("Powiąż"). Starts the account's linking process if none is running.

        Raises RateLimited while locked out, WrongState while an earlier attempt is checked.
        """
        workflow_id = linking_workflow_id(account_id)
        req = validate(
            m.LinkRequest,
            partner_number=partner_number,
            invoice_number=invoice_number,
            gross_grosze=_grosze(gross),
            ppe=ppe,
        )
        async with self.store.begin() as uow:
            if await uow.accounts.get(account_id) is None:
                raise NotFound("no such account")
        return await self._update_with_start(
            m.WORKFLOW_TYPE,
            self._linking_input(account_id),
            workflow_id,
            "linking",
            m.State.WAITING_FOR_ATTEMPT.value,
            "link",
            req,
            m.LinkAnswer,
        )

    async def linking_status(self, account_id: str) -> m.LinkingStatus:
        return await self._query(linking_workflow_id(account_id), "status", m.LinkingStatus)

    async def approve_link(self, account_id: str, reason: str, staff: str) -> m.LinkingStatus:
        decision = validate(m.StaffDecision, reason=reason, staff=staff)
        return await self._update(
            linking_workflow_id(account_id), "approve", decision, m.LinkingStatus
        )

    async def reject_link(self, account_id: str, reason: str, staff: str) -> m.LinkingStatus:
        decision = validate(m.StaffDecision, reason=reason, staff=staff)
        return await self._update(
            linking_workflow_id(account_id), "reject", decision, m.LinkingStatus
        )

    def _linking_input(self, account_id: str) -> m.LinkingInput:
        s = self.settings
        return m.LinkingInput(
            account_id=account_id,
            max_failed_attempts=s.link_max_failed_attempts,
            lockout=s.link_lockout,
            operator_patience=s.link_operator_patience,
            staff_patience=s.link_staff_patience,
            idle_timeout=s.link_idle_timeout,
            invoice_max_age=s.link_invoice_max_age,
            allow_shared_partner=s.allow_shared_partner,
        )
