"""Every workflow the worker hosts. Kept out of ``workflows/__init__.py``: the sandbox
re-imports a workflow's package for each run, so the package itself must import nothing."""

from workflows.einvoice import EInvoiceConsent
from workflows.invoice import InvoiceLifecycle
from workflows.linking import PartnerLinking
from workflows.outage import OutageIncident, OutageReport
from workflows.registration import Registration

ALL_WORKFLOWS: list[type] = [
    Registration,
    PartnerLinking,
    EInvoiceConsent,
    InvoiceLifecycle,
    OutageReport,
    OutageIncident,
]

__all__ = [
    "ALL_WORKFLOWS",
    "EInvoiceConsent",
    "InvoiceLifecycle",
    "OutageIncident",
    "OutageReport",
    "PartnerLinking",
    "Registration",
]
