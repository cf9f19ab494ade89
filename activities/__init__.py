"""Building the activities from their dependencies: the one list the worker registers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from activities.deletion import DeletionActivities
from activities.einvoice import EInvoiceActivities
from activities.email_change import EmailChangeActivities
from activities.invoice import InvoiceActivities
from activities.invoice_letter import InvoiceLetterActivities
from activities.invoice_mail import InvoiceMailActivities
from activities.linking import LinkingActivities
from activities.mail import MailComposer
from activities.outage import OutageActivities
from activities.password_reset import PasswordResetActivities
from activities.registration import RegistrationActivities
from adapters import registry
from adapters.email.base import EmailSender
from adapters.operator.base import GridOperator
from adapters.payments.base import PaymentProvider
from adapters.post.base import PostalService
from ebok.settings import Settings
from ebok.store.db import Store

__all__ = ["Adapters", "build_activities"]


@dataclass
class Adapters:
    """The swappable parts, chosen by name in settings (or given directly by tests)."""

    email: EmailSender
    operator: GridOperator
    payments: PaymentProvider
    post: PostalService | None = None  # registered letters; without it none can be sent

    @classmethod
    def from_settings(cls, settings: Settings) -> Adapters:
        """Each port's adapter as the settings name it (``EBOK_*_ADAPTER``), found through
        the entry points: the worker's one way to build them."""
        return cls(
            email=registry.build("email", settings.email_adapter, settings),
            operator=registry.build("operator", settings.operator_adapter, settings),
            payments=registry.build("payments", settings.payments_adapter, settings),
            post=registry.build("post", settings.post_adapter, settings),
        )


def build_activities(
    settings: Settings, store: Store, adapters: Adapters
) -> list[Callable[..., Any]]:
    composer = MailComposer(settings.mail_from)
    registration = RegistrationActivities(store, adapters.email, composer, settings)
    linking = LinkingActivities(store, adapters.operator, adapters.email, composer, settings)
    einvoice = EInvoiceActivities(store, adapters.email, composer, settings)
    email_change = EmailChangeActivities(store, adapters.email, composer, settings)
    invoice = InvoiceActivities(store, adapters.payments, adapters.operator)
    invoice_mail = InvoiceMailActivities(
        store, adapters.email, adapters.payments, composer, settings
    )
    letters = InvoiceLetterActivities(store, adapters.post, settings)
    outage = OutageActivities(store, adapters.operator, adapters.email, composer, settings)
    password_reset = PasswordResetActivities(store, adapters.email, composer, settings)
    deletion = DeletionActivities(store, adapters.email, composer, settings)
    return [
        registration.send_activation,
        registration.redeem_token,
        registration.send_welcome,
        registration.close,
        registration.purge,
        linking.match,
        linking.check_contract,
        linking.record_link,
        linking.notify_customer,
        linking.escalate,
        einvoice.check_request,
        einvoice.send_link,
        einvoice.redeem,
        einvoice.record_withdrawal,
        einvoice.notify,
        einvoice.close,
        email_change.send_confirmation,
        email_change.confirm,
        email_change.send_undo_link,
        email_change.undo,
        email_change.notify,
        email_change.unlock,
        email_change.close,
        invoice.record,
        invoice.apply_payment,
        invoice.correct,
        invoice.cancel,
        invoice.record_state,
        invoice.file_suspension,
        invoice.withdraw_suspension,
        invoice_mail.notify,
        invoice_mail.paper_fallback,
        invoice_mail.escalate,
        letters.send_notice_letter,
        *outage_activities(outage),
        password_reset.send_link,
        password_reset.redeem,
        password_reset.notify_changed,
        password_reset.close,
        deletion.send_link,
        deletion.redeem,
        deletion.notify,
        deletion.end_processes,
        deletion.erase,
        deletion.close,
    ]


def outage_activities(outage: OutageActivities) -> list[Callable[..., Any]]:
    return [
        outage.locate,
        outage.lookup,
        outage.follow,
        outage.open_ticket,
        outage.ticket_status,
        outage.watch_ticket,
        outage.attach,
        outage.close_report,
        outage.tell_reporter,
        outage.notify,
        outage.entitle,
        outage.end_interruption,
        outage.escalate,
        outage.release,
        outage.merge,
        outage.finalize,
    ]
