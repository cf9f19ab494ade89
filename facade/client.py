"""EbokClient: the typed facade backend services use to drive the processes.

It validates input (errors name the field; nothing is written on bad input), keeps personal
data and secrets in the store, and talks to workflows by update and query. Workflows see ids,
times and hashes only. Each process has its part in ``facade/``.
"""

from __future__ import annotations

from typing import Self

from ebok.settings import Settings
from ebok.store.db import Store
from ebok.temporal import connect
from facade.account import AccountFacade, password_reset_workflow_id
from facade.deletion import DeletionFacade, deletion_workflow_id
from facade.einvoice import EInvoiceFacade, einvoice_workflow_id
from facade.email_change import EmailChangeFacade, email_change_workflow_id
from facade.invoices import BankImport, InvoiceFacade, invoice_workflow_id
from facade.letters import LetterFacade
from facade.linking import LinkingFacade, linking_workflow_id
from facade.outages import OutageFacade
from facade.profile import ProfileFacade
from facade.registration import Registered, RegistrationFacade, registration_workflow_id

__all__ = [
    "BankImport",
    "EbokClient",
    "Registered",
    "deletion_workflow_id",
    "einvoice_workflow_id",
    "email_change_workflow_id",
    "invoice_workflow_id",
    "linking_workflow_id",
    "password_reset_workflow_id",
    "registration_workflow_id",
]


class EbokClient(
    RegistrationFacade,
    LinkingFacade,
    EInvoiceFacade,
    InvoiceFacade,
    OutageFacade,
    LetterFacade,
    ProfileFacade,
    EmailChangeFacade,
    DeletionFacade,
    AccountFacade,
):
    async def after_sign_in(self, account_id: str) -> None:
        """Signing in cancels a pending account deletion (the hook of ``AccountFacade``)."""
        await super().after_sign_in(account_id)
        await self.cancel_deletion_on_sign_in(account_id)

    @classmethod
    async def connect(cls, settings: Settings) -> Self:
        return cls(await connect(settings), Store.from_settings(settings), settings)

    async def aclose(self) -> None:
        if self._payment_provider is not None:
            await self._payment_provider.aclose()
        if self._postal_service is not None:
            await self._postal_service.aclose()
        await self.store.aclose()
