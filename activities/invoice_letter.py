"""The formal demand as a registered letter (Energy Law art. 6b ust. 3: the notice is served
*in writing*, and its 14 days run from its receipt), through the postal port.

Idempotent: the letter's key is the invoice and the demand's serial, which the post keeps
(a retry finds the letter posted before), and the store's row is written once per key."""

from __future__ import annotations

from datetime import UTC, datetime

from jinja2 import Environment, PackageLoader, StrictUndefined
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.invoice import invoice_of
from activities.invoice_notice import arrears_of, demand_facts
from adapters.post.base import (
    LetterRequest,
    PostalService,
    PostRejected,
    PostUnavailable,
    Recipient,
)
from ebok.ids import format_nrb
from ebok.models import invoice as m
from ebok.money import Money
from ebok.settings import Settings
from ebok.store.db import Store

__all__ = ["NO_POSTAL_ADDRESS", "LETTER_REJECTED", "InvoiceLetterActivities"]

NO_POSTAL_ADDRESS = "NoPostalAddress"
LETTER_REJECTED = "LetterRejected"


def _day(d: object) -> str:
    return d.strftime("%d.%m.%Y") if hasattr(d, "strftime") else str(d)


class InvoiceLetterActivities:
    def __init__(self, store: Store, post: PostalService | None, settings: Settings) -> None:
        self._store, self._post, self._settings = store, post, settings
        self._env = Environment(
            loader=PackageLoader("ebok", "templates"),
            undefined=StrictUndefined,
            autoescape=False,  # plain text for the print shop, never HTML
            keep_trailing_newline=True,
            auto_reload=False,
        )

    @activity.defn(name=m.SEND_NOTICE_LETTER)
    async def send_notice_letter(self, req: m.SendNoticeLetter) -> m.LetterFate:
        if self._post is None:
            raise ApplicationError(
                "no postal adapter is configured", type=LETTER_REJECTED, non_retryable=True
            )
        served_on = req.at.date()
        async with self._store.begin() as uow:
            invoice = await invoice_of(uow, req.number)
            address = await uow.letters.address_of(invoice.partner_number)
            arrears = await arrears_of(uow, invoice.partner_number, served_on)
        if address is None:
            raise ApplicationError(
                "no postal address for the partner: the notice cannot be posted",
                type=NO_POSTAL_ADDRESS,
                non_retryable=True,
            )
        facts = demand_facts(
            m.Notify(  # the demand's figures, as the e-mailed notice states them
                number=req.number,
                kind="demand",
                state=m.State.DEMANDED,
                outstanding=req.outstanding,
                due_date=req.due_date,
                interest=req.interest,
                interest_basis=req.interest_basis,
                compensation=req.compensation,
                compensation_eur=req.compensation_eur,
                eur_rate=req.eur_rate,
                eur_rate_date=req.eur_rate_date,
            ),
            arrears,
            self._settings.invoice_seller,
            self._settings.invoice_seller_nip,
        )
        text = self._env.get_template("letters/pl/invoice_demand.txt").render(
            recipient_name=address.name,
            recipient_street=address.street,
            recipient_postal_code=address.postal_code,
            recipient_city=address.city,
            partner_number=invoice.partner_number,
            today=_day(served_on),
            number=invoice.number,
            amount=str(req.outstanding),
            due_date=_day(req.due_date),
            interest=str(req.interest or Money.ZERO),
            nrb=format_nrb(invoice.nrb or ""),
            **facts,
        )
        try:
            recipient = Recipient(address.name, address.street, address.postal_code, address.city)
            fate = await self._post.send_letter(
                LetterRequest(
                    key=req.key,
                    recipient=recipient,
                    document=text.encode("utf-8"),
                    content_type="text/plain; charset=utf-8",
                    posted_on=served_on,
                )
            )
        except (PostRejected, ValueError) as e:
            raise ApplicationError(
                f"the post refused the notice letter: {e}", type=LETTER_REJECTED, non_retryable=True
            ) from None
        except PostUnavailable as e:
            raise ApplicationError(f"post unavailable: {e}") from None
        now = datetime.now(UTC)
        async with self._store.begin() as uow:
            await uow.letters.sent(req.number, fate, now)
            await uow.invoices.set_state(req.number, m.State.DEMANDED.value, now)
            await uow.invoices.log(
                req.number,
                f"notice:demand:{req.serial}",
                m.State.DEMANDED.value,
                f"registered letter {fate.tracking_id}",
                "workflow",
                now,
            )
        return fate
