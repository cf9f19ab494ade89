"""Every workflow the worker hosts. Kept out of ``workflows/__init__.py``: the sandbox
re-imports a workflow's package and module for each new run, so the package itself must import
nothing, and a workflow module imports no other workflow module (each report would otherwise
run the whole incident module again)."""

from workflows.deletion import AccountDeletion
from workflows.einvoice import EInvoiceConsent
from workflows.email_change import EmailChange
from workflows.invoice import InvoiceLifecycle
from workflows.linking import PartnerLinking
from workflows.outage import OutageReport
from workflows.outage_incident import OutageIncident
from workflows.password_reset import PasswordReset
from workflows.registration import Registration

ALL_WORKFLOWS: list[type] = [
    Registration,
    PartnerLinking,
    EInvoiceConsent,
    EmailChange,
    InvoiceLifecycle,
    OutageReport,
    OutageIncident,
    PasswordReset,
    AccountDeletion,
]

__all__ = [
    "ALL_WORKFLOWS",
    "AccountDeletion",
    "EInvoiceConsent",
    "EmailChange",
    "InvoiceLifecycle",
    "OutageIncident",
    "OutageReport",
    "PartnerLinking",
    "PasswordReset",
    "Registration",
]
