"""Invoice lifecycle activities that reach people: the e-invoice with its PDF and pay-online
link, reminders, the formal demand and the confirmation (by e-mail where the partner consented,
else a letter in the paper queue), and mails to the back office."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.delivery import RECIPIENT_REJECTED, deliver
from activities.invoice import invoice_of
from activities.invoice_document import document_for, seller_party
from activities.invoice_notice import arrears_of, demand_facts
from activities.mail import MailComposer, local_time, message_id
from adapters.email.base import Attachment, EmailSender
from adapters.payments.base import (
    PaymentProvider,
    PaymentRejected,
    PaymentRequest,
    PaymentUnavailable,
)
from ebok.documents.invoice_pdf import render_invoice_pdf
from ebok.ids import format_nrb
from ebok.models import invoice as m
from ebok.money import Money
from ebok.settings import Settings
from ebok.store.db import Store
from ebok.store.invoices import InvoiceRecord

__all__ = ["InvoiceMailActivities"]


def _day(d: object) -> str:
    return d.strftime("%d.%m.%Y") if hasattr(d, "strftime") else str(d)


class InvoiceMailActivities:
    def __init__(
        self,
        store: Store,
        email: EmailSender,
        payments: PaymentProvider,
        composer: MailComposer,
        settings: Settings,
    ) -> None:
        self._store, self._email, self._payments = store, email, payments
        self._composer, self._settings = composer, settings

    @activity.defn(name=m.NOTIFY)
    async def notify(self, req: m.Notify) -> m.Delivered:
        mid = message_id(f"invoice-{req.kind}", req.number, req.serial, self._composer.domain)
        async with self._store.begin() as uow:
            invoice = await invoice_of(uow, req.number)
            consent = (
                None if req.paper_only else await uow.consents.active_for(invoice.partner_number)
            )
            already_sent = consent is not None and await uow.mail.was_sent(mid)
            partner = await uow.billing.partner(invoice.partner_number)
            # The notice names all the customer's arrears (Energy Law art. 6b ust. 3).
            served_on = (req.at or datetime.now(UTC)).date()
            demand = req.kind == "demand"
            arrears = await arrears_of(uow, invoice.partner_number, served_on) if demand else []
            of_partner = (
                [] if invoice.ppe else await uow.billing.ppes_of_partner(invoice.partner_number)
            )
            same_account = [
                p.ppe for p in of_partner if p.contract_account == invoice.contract_account
            ]
            ppes = [invoice.ppe] if invoice.ppe else same_account
        if already_sent:  # a retry after the send: only the record may be missing
            await self._record(req, emailed=req.kind == "issued")
            return m.Delivered(channel="email")
        extra = (
            demand_facts(
                req, arrears, self._settings.invoice_seller, self._settings.invoice_seller_nip
            )
            if req.kind == "demand"
            else {}
        )
        if consent is None:
            if req.kind != "paid":  # a confirmation is not worth a stamp
                await self._paper(invoice, req, extra)
            await self._record(req)
            return m.Delivered(channel="paper")
        # The provider's payment is for the full amount: after a partial payment or a
        # correction, only the transfer details are right.
        pay_url = invoice.pay_url if req.outstanding.grosze == invoice.gross_grosze else None
        attachments: tuple[Attachment, ...] = ()
        if req.kind == "issued":
            pay_url = invoice.pay_url or await self._payment_link(
                invoice, req.outstanding, consent.language, consent.email
            )
            doc = document_for(
                invoice,
                seller=seller_party(
                    self._settings.invoice_seller, self._settings.invoice_seller_nip
                ),
                buyer_name=partner.name if partner else invoice.partner_number,
                # A business buyer is named by its NIP too (VAT Act art. 106e ust. 1 pkt 5).
                buyer_nip=partner.nip if partner and partner.kind == "business" else None,
                ppes=ppes,
                pay_url=pay_url,
            )
            pdf = render_invoice_pdf(doc)
            attachments = (Attachment(_filename(invoice.number), "application/pdf", pdf),)
        mail = self._composer.compose(
            "invoice_notice",
            consent.language,
            consent.email,
            mid,
            **self._facts(invoice, req, pay_url),
            **extra,
        )
        mail = dataclasses.replace(mail, attachments=attachments)
        try:
            await deliver(self._store, self._email, mail, "invoice", req.number)
        except ApplicationError as e:
            if e.type != RECIPIENT_REJECTED:
                raise
            await self._fallback(invoice, req, str(e), extra)
            await self._record(req)
            return m.Delivered(channel="paper", bounced=True)
        await self._record(req, emailed=req.kind == "issued", pay_url=pay_url)
        return m.Delivered(channel="email")

    @activity.defn(name=m.PAPER_FALLBACK)
    async def paper_fallback(self, req: m.PaperFallback) -> None:
        """The e-invoice bounced after the relay took it: print it, and tell the back office."""
        async with self._store.begin() as uow:
            invoice = await invoice_of(uow, req.number)
            standing = await uow.invoices.standing(req.number, datetime.now(UTC))
        outstanding = Money(max(standing.amount_due - standing.paid, 0))
        assert invoice.due_date is not None
        issued = m.Notify(
            number=req.number,
            kind="issued",
            state=m.State.OPEN,
            outstanding=outstanding,
            due_date=invoice.due_date,
        )
        await self._fallback(invoice, issued, req.detail or "bounced")

    @activity.defn(name=m.ESCALATE)
    async def escalate(self, req: m.Escalate) -> None:
        async with self._store.begin() as uow:
            invoice = await invoice_of(uow, req.number)
        await self._staff(
            invoice, req.reason, req.serial, detail=req.detail[:200], deadline=req.deadline
        )

    # --- helpers ----------------------------------------------------------------------------

    async def _record(
        self, req: m.Notify, *, emailed: bool = False, pay_url: str | None = None
    ) -> None:
        """The state the notice puts the invoice in, and an audit row for the notice; with
        ``emailed``, the invoice itself went by e-mail (with ``pay_url``, if not kept yet).
        One transaction, idempotent: a retry writes the same."""
        now = datetime.now(UTC)
        async with self._store.begin() as uow:
            if emailed:
                await uow.invoices.set_delivery(req.number, "email", now, pay_url)
            if req.state is not m.State.PAID:  # paid is written where the payment is applied
                await uow.invoices.set_state(req.number, req.state.value, now)
            await uow.invoices.log(
                req.number, f"notice:{req.kind}:{req.serial}", req.state.value, "", "workflow", now
            )

    async def _fallback(
        self,
        invoice: InvoiceRecord,
        req: m.Notify,
        detail: str,
        extra: dict[str, Any] | None = None,
    ) -> None:
        await self._paper(invoice, req, extra)
        await self._staff(invoice, "bounced", 1, detail=detail[:200], deadline=None)

    async def _paper(
        self, invoice: InvoiceRecord, req: m.Notify, extra: dict[str, Any] | None = None
    ) -> None:
        """A letter for the print shop; a demand's carries what its mail says (``extra``)."""
        details: dict[str, Any] = {
            "kind": req.kind,
            "outstanding_grosze": req.outstanding.grosze,
            "due_date": req.due_date.isoformat(),
            "notice_until": req.notice_until.isoformat() if req.notice_until else None,
            "interest_grosze": req.interest.grosze if req.interest else None,
            "nrb": invoice.nrb,
            **(extra or {}),
        }
        now = datetime.now(UTC)
        async with self._store.begin() as uow:
            await uow.paper.queue(
                f"{invoice.number}:{req.kind}:{req.serial}",
                invoice.number,
                invoice.partner_number,
                req.kind,
                details,
                now,
            )
            if req.kind == "issued":
                await uow.invoices.set_delivery(invoice.number, "paper", now)

    async def _staff(
        self,
        invoice: InvoiceRecord,
        reason: str,
        serial: int,
        *,
        detail: str,
        deadline: datetime | None,
    ) -> None:
        run = activity.info().workflow_run_id or "-"
        kind, domain = f"invoice-staff-{reason}", self._composer.domain
        mid = message_id(kind, invoice.number, f"{run}.{serial}", domain)
        async with self._store.begin() as uow:
            if await uow.mail.was_sent(mid):
                return
        mail = self._composer.compose(
            "invoice_staff",
            "pl",
            self._settings.backoffice_email,
            mid,
            reason=reason,
            number=invoice.number,
            partner_number=invoice.partner_number,
            workflow_id=m.workflow_id(invoice.number),
            detail=detail,
            deadline=local_time(deadline) if deadline else "",
        )
        await deliver(self._store, self._email, mail, "escalation", invoice.number)

    async def _payment_link(
        self, invoice: InvoiceRecord, amount: Money, language: str, email: str
    ) -> str | None:
        """The pay-online link; a refusal leaves the invoice payable by transfer only."""
        if amount.grosze <= 0:
            return None
        try:
            created = await self._payments.create_payment(
                PaymentRequest(
                    key=m.payment_key(invoice.number),
                    invoice_number=invoice.number,
                    amount=amount,
                    description=f"Faktura {invoice.number}",
                    continue_url=self._settings.link("platnosci/powrot", faktura=invoice.number),
                    language=language,
                    customer_email=email,
                )
            )
        except PaymentRejected:
            activity.logger.warning("payment provider refused a payment for an invoice")
            return None
        except PaymentUnavailable as e:
            raise ApplicationError(f"payment provider unavailable: {e}") from None
        if not created.redirect_url:  # a provider may not repeat it for a key it has seen
            return None
        # Kept at once: a retry of this activity reuses it instead of asking again.
        async with self._store.begin() as uow:
            delivery, now = invoice.delivery or "pending", datetime.now(UTC)
            await uow.invoices.set_delivery(invoice.number, delivery, now, created.redirect_url)
        return created.redirect_url

    def _facts(self, invoice: InvoiceRecord, req: m.Notify, pay_url: str | None) -> dict[str, str]:
        return {
            "kind": req.kind,
            "number": invoice.number,
            "amount": str(req.outstanding),
            "due_date": _day(req.due_date),
            "nrb": format_nrb(invoice.nrb or ""),
            "pay_url": pay_url or "",
            "notice_until": local_time(req.notice_until) if req.notice_until else "",
            "interest": str(req.interest or Money.ZERO),
        }


def _filename(number: str) -> str:
    return "Faktura_" + "".join(c if c.isalnum() or c in "-_" else "_" for c in number) + ".pdf"
