"""The one place outside ``worker.py`` that builds adapters: what the facade needs of them.

The facade calls the payment provider itself (a pay-online link, a notification's signature),
and the DSO's status webhook is checked by the grid-operator adapter that speaks its wire, so
the edges need adapters built from the same settings as the worker's. Building it here, and nowhere
else in the edges, keeps the choice of adapter a matter of settings and entry points only.
"""

from __future__ import annotations

from adapters import registry
from adapters.operator.http import HttpOperator
from adapters.payments.base import PaymentProvider
from adapters.post.base import PostalService
from ebok.settings import Settings

__all__ = ["payment_provider", "postal_service", "status_webhook_verifier"]


def payment_provider(settings: Settings) -> PaymentProvider:
    """The payments adapter the settings name (``EBOK_PAYMENTS_ADAPTER``)."""
    provider: PaymentProvider = registry.build("payments", settings.payments_adapter, settings)
    return provider


def status_webhook_verifier(settings: Settings) -> HttpOperator:
    """The ``http`` grid-operator adapter, whose ``verify_status_notification`` checks the
    DSO's signed status webhooks (``EBOK_OPERATOR_WEBHOOK_SECRET``)."""
    return HttpOperator.from_settings(settings)


def postal_service(settings: Settings) -> PostalService:
    """The postal adapter the settings name (``EBOK_POST_ADAPTER``): it checks the post's
    signed letter notifications and answers polls."""
    post: PostalService = registry.build("post", settings.post_adapter, settings)
    return post
