"""The invoice lifecycle through the facade: issue, payments from the provider, the bank and
staff, complaints, corrections, cancellation, status and the partner's balance."""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from os import PathLike
from typing import IO, Any

from pydantic import BaseModel
from temporalio.client import WorkflowHandle
from temporalio.common import (
    SearchAttributePair,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from adapters.payments.base import (
    PaymentNotification,
    PaymentProvider,
    PaymentRejected,
    PaymentRequest,
    PaymentStatus,
    PaymentUnavailable,
)
from ebok.csv_rows import RowError
from ebok.errors import InvalidInput, NotFound, Unavailable, WrongState
from ebok.models import invoice as m
from ebok.models.balance import Balance, NotificationOutcome, PaymentToBook
from ebok.models.linking import InvoiceNumber
from ebok.models.search import EBOK_AMOUNT_DUE, EBOK_DEADLINE, EBOK_INVOICE, EBOK_PARTNER
from ebok.money import Money
from ebok.store.invoices import FINAL_STATES, InvoiceRecord, UnmatchedPayment
from facade.balance import balance_of
from facade.bank_statement import IncomingTransfer, parse_bank_statement
from facade.base import FacadeBase, validate
from facade.wiring import payment_provider

__all__ = ["BankImport", "InvoiceFacade", "invoice_workflow_id", "issue_input"]


def _shown_at_issue(inp: m.InvoiceInput) -> list[SearchAttributePair[Any]]:
    """What the workflow shows operators in its first task (the invoice, the partner, the
    whole gross due, the reminder before the due date), given with the start: the workflow
    sets only what changed, so this saves an upsert event and a visibility write per invoice.
    Were a value to differ, the workflow would simply set its own."""
    return [
        SearchAttributePair(EBOK_INVOICE, inp.invoice.number),
        SearchAttributePair(EBOK_PARTNER, inp.invoice.partner_number),
        SearchAttributePair(EBOK_AMOUNT_DUE, inp.invoice.gross.grosze),
        SearchAttributePair(EBOK_DEADLINE, inp.reminder_before_at),
    ]


def invoice_workflow_id(number: str) -> str:
    return m.workflow_id(validate(_Number, number=number).number)


def issue_input(data: Mapping[str, Any]) -> m.IssueInvoice:
    """Validate billing's invoice; a rule spanning fields is reported on the field it names
    (its message starts "field: ..."), not on the whole input."""
    try:
        return validate(m.IssueInvoice, **data)
    except InvalidInput as e:
        errors: dict[str, str] = {}
        for where, message in e.errors.items():
            ours = message.startswith("Value error, ")  # raised by the model's own checks
            field, sep, text = message.removeprefix("Value error, ").partition(": ")
            if ours and sep and field.isidentifier():
                where = field if where == "input" else f"{where}.{field}"
                message = text
            errors.setdefault(where, message)
        raise InvalidInput(errors) from None


class _Number(BaseModel):
    number: InvoiceNumber


def _customer_ip(value: str) -> str:
    """An IPv4 or IPv6 address, in its compressed form; anything else names the field."""
    if isinstance(value, str):
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            pass
    raise InvalidInput.one("customer_ip", "is not an IPv4 or IPv6 address")


@dataclass
class BankImport:
    """What became of a bank statement: signalled transfers, those already applied, those no
    open invoice could be found for (to be booked by hand), and the bad rows of the file."""

    signalled: list[str] = field(default_factory=list)  # bank references
    duplicates: list[str] = field(default_factory=list)
    unmatched: list[tuple[str, str]] = field(default_factory=list)  # (reference, why)
    bad: list[RowError] = field(default_factory=list)
    skipped: int = 0  # entries that pay nothing in: debits, reversals, entries not booked

    def summary(self) -> str:
        skipped = f", {self.skipped} skipped (debits, reversals)" if self.skipped else ""
        return (
            f"{len(self.signalled)} signalled, {len(self.duplicates)} already applied, "
            f"{len(self.unmatched)} unmatched, {len(self.bad)} bad row(s){skipped}"
        )


class InvoiceFacade(FacadeBase):
    _payment_provider: PaymentProvider | None = None

    async def issue_invoice(
        self,
        invoice: m.IssueInvoice | Mapping[str, Any],
        *,
        electronic_notices: bool | None = None,
    ) -> str:
        """Start the invoice's lifecycle; issuing the same number again is the same invoice.
        Returns the workflow id. ``electronic_notices``: the partner agreed to receive legal
        notices by e-mail; only then does an e-mailed disconnection notice count (else it goes
        by registered letter). None: as the store has it now, the agreement of any web account
        linked to the partner (``ebok consent give … electronic_notices``); billing passes
        True or False where it keeps an agreement of its own (one signed on paper)."""
        issue = invoice if isinstance(invoice, m.IssueInvoice) else issue_input(invoice)
        async with self.store.begin() as uow:
            accounts = {
                p.contract_account for p in await uow.billing.ppes_of_partner(issue.partner_number)
            }
            partner = await uow.billing.partner(issue.partner_number)
            if partner is None:
                raise InvalidInput.one("partner_number", "is not a known business partner")
            if electronic_notices is None:
                electronic_notices = await uow.rodo.electronic_notices_agreed(
                    at=datetime.now(UTC), partner_number=issue.partner_number
                )
        if issue.contract_account not in accounts:
            raise InvalidInput.one("contract_account", "is not an account of this partner")
        s = self.settings
        workflow_id = m.workflow_id(issue.number)
        inp = m.InvoiceInput(
            invoice=issue,
            reminder_before=s.invoice_reminder_before,
            reminder_after=s.invoice_reminder_after,
            demand_after=s.invoice_demand_after,
            notice_period=s.invoice_notice_period,
            complaint_deadline=s.invoice_complaint_deadline,
            complaint_escalation_margin=s.invoice_complaint_escalation_margin,
            interest_rates=s.late_interest_table,
            debtor="business" if partner.kind == "business" else "consumer",
            commercial_interest_rates=s.commercial_interest_table,
            eur_pln_rates=s.eur_pln_table,
            electronic_notices=electronic_notices,
        )
        try:
            await self._start(
                m.WORKFLOW_TYPE,
                inp,
                workflow_id,
                "invoice",
                m.State.ISSUED.value,
                reuse=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                conflict=WorkflowIDConflictPolicy.USE_EXISTING,
                also=_shown_at_issue(inp),
            )
        except WorkflowAlreadyStartedError:
            pass  # finished already: the same invoice, issued before
        return workflow_id

    async def invoice_status(self, number: str) -> m.InvoiceStatus:
        return await self._query(invoice_workflow_id(number), m.QUERY_STATUS, m.InvoiceStatus)

    # --- payments -------------------------------------------------------------------------

    def payments_adapter(self) -> PaymentProvider:
        if self._payment_provider is None:
            self._payment_provider = payment_provider(self.settings)
        return self._payment_provider

    async def pay_online(
        self, number: str, language: str = "pl", *, customer_ip: str
    ) -> m.PaymentLink:
        """A pay-online link for what is left to pay of an open invoice (after a partial
        payment or a correction the mailed link is for the wrong amount; a paper customer has
        none). Asking again for the same standing gives the same link. ``customer_ip`` is the
        address of the customer asking (as the portal saw it): the provider requires it for
        its fraud checks."""
        number = validate(_Number, number=number).number
        ip = _customer_ip(customer_ip)
        async with self.store.begin() as uow:
            invoice = await uow.invoices.get(number)
            if invoice is None or not invoice.managed:
                raise NotFound("no such invoice")
            if invoice.state in FINAL_STATES:
                raise WrongState(f"the invoice is {invoice.state}: nothing to pay")
            standing = await uow.invoices.standing(number, datetime.now(UTC))
            left = standing.amount_due - standing.paid
            key = m.remainder_key(number, invoice.gross_grosze, standing.amount_due, standing.paid)
            kept = await uow.invoices.pay_link(key)
            if kept is None and key == m.payment_key(number):
                kept = invoice.pay_url
        if left <= 0:
            raise WrongState("the invoice is paid: nothing to pay")
        if kept is not None:
            return m.PaymentLink(number=number, amount=Money(left), url=kept)
        try:
            created = await self.payments_adapter().create_payment(
                PaymentRequest(
                    key=key,
                    invoice_number=number,
                    amount=Money(left),
                    description=f"Faktura {number}",
                    continue_url=self.settings.link("platnosci/powrot", faktura=number),
                    language=language,
                    customer_ip=ip,
                )
            )
        except PaymentRejected as e:
            raise WrongState(f"the payment provider refused the payment: {e}") from None
        except PaymentUnavailable as e:
            raise Unavailable(f"payment provider unavailable: {e}") from None
        if not created.redirect_url:
            raise Unavailable("the payment provider gave no link; pay by transfer")
        async with self.store.begin() as uow:
            await uow.invoices.keep_pay_link(
                key, number, left, created.provider_ref, created.redirect_url, datetime.now(UTC)
            )
            url = await uow.invoices.pay_link(key)  # a rival call's link, kept first, wins
        return m.PaymentLink(number=number, amount=Money(left), url=url or created.redirect_url)

    async def payment_notification(
        self, body: bytes, headers: Mapping[str, str]
    ) -> NotificationOutcome:
        """Believe a provider notification only once its signature checks out, then tell the
        invoice's workflow which payment to look at (never how much: the workflow asks the
        provider). A payment held for our confirmation is taken if it pays exactly what is due,
        else refused; a payment no invoice can take is listed for staff (:meth:`payments_to_book`)
        and answered all the same, as the provider would otherwise send it again for days.
        Raises NotificationRejected with a reason safe to answer with."""
        note = await self.payments_adapter().verify_notification(body, headers)
        number = m.invoice_of_key(note.key) if note.key is not None else None
        if number is None:
            return await self._not_ours(note)
        if note.status is PaymentStatus.WAITING_FOR_CONFIRMATION:
            return await self._confirm(number, note)
        if note.status is not PaymentStatus.COMPLETED:
            return NotificationOutcome(
                outcome="ignored", invoice_number=number, detail=note.status.value
            )
        return await self._paid(number, note)

    async def _paid(self, number: str, note: PaymentNotification) -> NotificationOutcome:
        async with self.store.begin() as uow:
            if await uow.invoices.payment("provider", note.provider_ref) is not None:
                return NotificationOutcome(outcome="duplicate", invoice_number=number)
        arrived = m.PaymentArrived(source="provider", reference=note.provider_ref)
        if not await self._signal(number, m.SIGNAL_PAYMENT, arrived):
            # Closed since the look above, perhaps by this very payment: not one to book by hand.
            if await self._booked("provider", note.provider_ref):
                return NotificationOutcome(outcome="duplicate", invoice_number=number)
            await self._to_book(note, f"the invoice {number} is closed")
            return NotificationOutcome(outcome="closed", invoice_number=number)
        return NotificationOutcome(outcome="signalled", invoice_number=number)

    async def _not_ours(self, note: PaymentNotification) -> NotificationOutcome:
        """A believed notification of an order not made under a key of ours (in the provider's
        panel, or by another system on the same point of sale): money received is listed for
        staff; an order still under way is left to whoever made it."""
        why = "no extOrderId" if note.key is None else "extOrderId is no key of ours"
        if note.status is not PaymentStatus.COMPLETED:
            return NotificationOutcome(outcome="ignored", detail=f"{why}; {note.status.value}")
        await self._to_book(note, f"{why}: an order made elsewhere")
        return NotificationOutcome(outcome="unmatched", detail=why)

    async def _to_book(self, note: PaymentNotification, why: str) -> None:
        await self._list_for_staff(
            "provider", note.provider_ref, note.amount, why, note.occurred_at
        )

    async def _list_for_staff(
        self, source: str, reference: str, amount: Money, why: str, received: datetime | None
    ) -> None:
        now = datetime.now(UTC)
        listed = UnmatchedPayment(source, reference, amount.grosze, why, received, now)
        async with self.store.begin() as uow:
            await uow.invoices.note_unmatched(listed)

    async def _confirm(self, number: str, note: PaymentNotification) -> NotificationOutcome:
        """A payment the provider holds until told (its point of sale does not take payments
        by itself): taken when it pays exactly what is left to pay of the invoice, refused
        otherwise (paid meanwhile by transfer, corrected, cancelled), so no money is taken
        that would only have to be refunded. The provider's own word on the payment, not the
        notification's, decides; a provider refusing or unreachable is retried by its
        notification's next delivery."""
        provider = self.payments_adapter()
        state = await provider.payment_status(note.provider_ref)
        if state.status is PaymentStatus.COMPLETED:  # taken already, by a twin of this call
            return await self._paid(number, note)
        if state.status is not PaymentStatus.WAITING_FOR_CONFIRMATION:
            return NotificationOutcome(
                outcome="ignored", invoice_number=number, detail=state.status.value
            )
        now = datetime.now(UTC)
        async with self.store.begin() as uow:
            invoice = await uow.invoices.get(number)
            left = 0
            if invoice is not None and invoice.managed:
                standing = await uow.invoices.standing(number, now)
                left = max(standing.amount_due - standing.paid, 0)
        event = f"provider:{{}}:{note.provider_ref}"
        if state.amount.grosze == left:
            await provider.capture_payment(note.provider_ref)
            await self._log(invoice, event.format("capture"), f"{left} grosze taken")
            outcome = await self._paid(number, note)
            if outcome.outcome == "signalled":
                return NotificationOutcome(outcome="captured", invoice_number=number)
            return outcome
        await provider.cancel_payment(note.provider_ref)
        detail = f"{state.amount.grosze} grosze held, {left} grosze left to pay: refused"
        await self._log(invoice, event.format("cancel"), detail)
        return NotificationOutcome(outcome="cancelled", invoice_number=number, detail=detail)

    async def _log(self, invoice: InvoiceRecord | None, event: str, detail: str) -> None:
        """An audit row of the invoice, for staff asking why a payment was taken or refused."""
        if invoice is None or not invoice.managed:
            return
        state, now = invoice.state or "", datetime.now(UTC)
        async with self.store.begin() as uow:
            await uow.invoices.log(invoice.number, event[:64], state, detail, "provider", now)

    async def payments_to_book(self, since: datetime | None = None) -> list[PaymentToBook]:
        """Payments no invoice could take, oldest first (with ``since``, those listed since):
        provider payments for an order not made under our key or for an invoice whose
        process has ended, and bank transfers no open invoice matched."""
        async with self.store.begin() as uow:
            rows = await uow.invoices.unmatched(since)
        return [
            PaymentToBook.model_validate(
                dataclasses.asdict(r) | {"amount": r.amount_grosze, "listed_at": r.recorded_at}
            )
            for r in rows
        ]

    async def import_bank_statement(
        self, path: str | PathLike[str] | IO[str] | IO[bytes], format: str | None = None
    ) -> BankImport:
        """Signal each transfer of a statement to the invoice it pays: the open invoice whose
        number the title names, among those paid into that individual account, or the only
        open one there. Loading a statement twice applies nothing twice.

        ``format`` is "csv", "mt940" or "camt053", or None to tell it from the content; a file
        that cannot be used raises ImportFileError before anything is signalled."""
        report = parse_bank_statement(path, format)
        result = BankImport(bad=list(report.bad), skipped=report.skipped)
        for transfer in report.transfers:
            number, why = await self._match(transfer)
            if number is None:
                result.unmatched.append((transfer.bank_reference, why))
                await self._transfer_to_book(transfer, why)
                continue
            if why == "duplicate":
                result.duplicates.append(transfer.bank_reference)
                continue
            received = datetime.combine(transfer.booking_date, datetime.min.time(), tzinfo=UTC)
            arrived = m.PaymentArrived(
                source="bank",
                reference=transfer.bank_reference,
                amount=transfer.amount,
                received_at=received,
            )
            if await self._signal(number, m.SIGNAL_PAYMENT, arrived):
                result.signalled.append(transfer.bank_reference)
            elif await self._booked("bank", transfer.bank_reference):
                # The invoice closed since the match, settled by this transfer's earlier copy:
                # listing it as unmatched would have it booked by hand a second time.
                result.duplicates.append(transfer.bank_reference)
            else:
                why = "the invoice is closed"
                result.unmatched.append((transfer.bank_reference, why))
                await self._transfer_to_book(transfer, why)
        return result

    async def _transfer_to_book(self, transfer: IncomingTransfer, why: str) -> None:
        received = datetime.combine(transfer.booking_date, datetime.min.time(), tzinfo=UTC)
        await self._list_for_staff("bank", transfer.bank_reference, transfer.amount, why, received)

    async def _booked(self, source: str, reference: str) -> bool:
        async with self.store.begin() as uow:
            return await uow.invoices.payment(source, reference) is not None

    async def _match(self, transfer: IncomingTransfer) -> tuple[str | None, str]:
        async with self.store.begin() as uow:
            done = await uow.invoices.payment("bank", transfer.bank_reference)
            if done is not None:
                return done.invoice_number, "duplicate"
            every = await uow.invoices.open_for_nrb(transfer.target_account, settled=True)
        candidates = [i for i in every if i.state not in FINAL_STATES]
        title = transfer.title.upper()
        # A settled invoice the title names still takes it: its workflow may be finishing with
        # an earlier copy of this transfer in hand (then it is no second payment), or books it
        # as a credit; once the workflow has ended, the signal says so.
        named = [i for i in candidates if i.number.upper() in title] or [
            i for i in every if i.number.upper() in title
        ]
        if named:
            return max(named, key=lambda i: len(i.number)).number, ""
        if len(candidates) == 1:
            return candidates[0].number, ""
        why = "no open invoice for that account" if not candidates else "title names no invoice"
        return None, why

    async def record_payment(
        self,
        number: str,
        reference: str,
        amount: Money | int | str,
        staff: str,
        received_at: datetime | None = None,
    ) -> m.InvoiceStatus:
        req = validate(
            m.RecordPayment,
            reference=reference,
            amount=amount,
            staff=staff,
            received_at=received_at,
        )
        return await self._status_update(number, m.UPDATE_RECORD_PAYMENT, req)

    # --- complaints, corrections, staff actions ---------------------------------------------

    async def complaint(self, number: str, reference: str) -> None:
        filed = validate(m.ComplaintFiled, reference=reference)
        if not await self._signal(number, m.SIGNAL_COMPLAINT, filed):
            raise NotFound("no such open invoice")

    async def invoice_bounced(self, number: str, detail: str = "") -> None:
        """The mail system reports the e-invoice undeliverable: paper goes instead."""
        if not await self._signal(
            number, m.SIGNAL_BOUNCED, validate(m.Bounced, detail=detail[:200])
        ):
            raise NotFound("no such open invoice")

    async def answer_complaint(
        self, number: str, upheld: bool, answer: str, staff: str
    ) -> m.InvoiceStatus:
        req = validate(m.AnswerComplaint, upheld=upheld, answer=answer, staff=staff)
        return await self._status_update(number, m.UPDATE_ANSWER_COMPLAINT, req)

    async def correct_invoice(
        self,
        number: str,
        correction_number: str,
        new_gross: Money | int | str,
        reason: str,
        staff: str = "billing",
    ) -> m.InvoiceStatus:
        req = validate(
            m.Correct,
            correction_number=correction_number,
            new_gross=new_gross,
            reason=reason,
            staff=staff,
        )
        return await self._status_update(number, m.UPDATE_CORRECT, req)

    async def waive_reminder(self, number: str, reason: str, staff: str) -> m.InvoiceStatus:
        req = validate(m.WaiveReminder, reason=reason, staff=staff)
        return await self._status_update(number, m.UPDATE_WAIVE_REMINDER, req)

    async def resend_notice(self, number: str, staff: str) -> m.InvoiceStatus:
        """Post the demand's registered letter again (after its postal address was fixed)."""
        req = validate(m.ResendNotice, staff=staff)
        return await self._status_update(number, m.UPDATE_RESEND_NOTICE, req)

    async def cancel_invoice(self, number: str, reason: str, staff: str) -> m.InvoiceStatus:
        req = validate(m.CancelInvoice, reason=reason, staff=staff)
        return await self._status_update(number, m.UPDATE_CANCEL, req)

    async def balance(self, partner_number: str, on: date | None = None) -> Balance:
        return await balance_of(self.store, self.settings, partner_number, on)

    async def _status_update(self, number: str, update: str, req: BaseModel) -> m.InvoiceStatus:
        """A staff update of the invoice's workflow, answered with its status."""
        return await self._update(invoice_workflow_id(number), update, req, m.InvoiceStatus)

    async def _signal(self, number: str, signal: str, arg: BaseModel) -> bool:
        """False if there is no running workflow for the invoice."""
        handle: WorkflowHandle[Any, Any] = self.temporal.get_workflow_handle(
            invoice_workflow_id(number)
        )
        try:
            await handle.signal(signal, arg)
        except RPCError as e:
            if e.status == RPCStatusCode.NOT_FOUND:
                return False
            raise
        return True
