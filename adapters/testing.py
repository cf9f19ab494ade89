"""The contracts every EmailSender, GridOperator and PaymentProvider must meet; plugins reuse them.
(The postal port's, :class:`PostalServiceContract`, lives beside its port in
``adapters/post/testing.py`` and is re-exported here.)

Subclass :class:`EmailSenderContract` and override two fixtures::

    class TestMySender(EmailSenderContract):
        @pytest.fixture
        async def sender(self): ...      # a fresh EmailSender (close it after the test)

        @pytest.fixture
        def received(self): ...          # async () -> list[EmailMessage] that reached the far end

Likewise :class:`GridOperatorContract` with one fixture, ``operator``: a GridOperator whose
registry holds :func:`contract_rows` (the suite's ``REGISTRY``) and nothing else it asks about,
with no outage known anywhere and no suspension filed yet.

And :class:`PaymentProviderContract` with two fixtures: ``provider``, a PaymentProvider (close
it after the test), and ``settle``, an async ``(provider_ref, status) -> (body, headers)`` that
makes the far end move the payment to ``status`` (the customer pays or gives up; for
``WAITING_FOR_CONFIRMATION``, pays at a provider told to hold the money until the merchant
captures or cancels it) and returns the signed notification the provider sends about it.

The tests are coroutines: run them with pytest-asyncio (``asyncio_mode = "auto"``, or mark them).
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage, MIMEPart
from typing import Any

import pytest

from adapters.email.base import (
    Attachment,
    EmailError,
    EmailSender,
    OutgoingEmail,
    UnsafeHeader,
)
from adapters.operator.base import (
    ContractAnswer,
    ContractQuery,
    ContractStatus,
    ContractType,
    GridOperator,
    IncidentState,
    IncidentStatus,
    OperatorRejected,
    OutageLookup,
    OutageReports,
    OutageTicket,
    SupplySuspensions,
    SuspensionAnswer,
    SuspensionRequest,
    TicketRequest,
)
from adapters.operator.sandbox import RegistryRow, RowStatus
from adapters.payments.base import (
    NotificationRejected,
    PaymentError,
    PaymentProvider,
    PaymentRejected,
    PaymentRequest,
    PaymentStatus,
    RefundRequest,
)
from adapters.post.testing import PostalServiceContract, Postman
from ebok.money import Money

__all__ = [
    "POLISH",
    "EmailSenderContract",
    "GridOperatorContract",
    "PaymentProviderContract",
    "PostalServiceContract",
    "Postman",
    "Received",
    "Settle",
    "contract_rows",
    "forge",
    "sample_mail",
    "sample_payment",
    "sample_suspension",
]

Received = Callable[[], Awaitable[list[EmailMessage]]]
Settle = Callable[[str, PaymentStatus], Awaitable[tuple[bytes, dict[str, str]]]]

POLISH = "Aktywacja konta — Łódź, zażółć gęślą jaźń"
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + bytes(range(256)) + b"\n%%EOF\n"


def sample_mail(**overrides: Any) -> OutgoingEmail:
    """A valid message with a fresh Message-ID; keyword arguments replace any field."""
    fields: dict[str, Any] = {
        "sender": "Biuro Obsługi Klienta <no-reply@ebok.example.pl>",
        "to": "Jan Kowalski <jan.kowalski@example.com>",
        "subject": "Aktywacja konta",
        "text": "Dzień dobry,\n\nkliknij link, aby aktywować konto.\n",
        "message_id": f"<{uuid.uuid4().hex}@ebok.example.pl>",
    }
    return OutgoingEmail(**(fields | overrides))


def forge(mail: OutgoingEmail, **fields: Any) -> OutgoingEmail:
    """A copy of ``mail`` with ``fields`` set *without* validation, as a buggy caller could."""
    forged = object.__new__(OutgoingEmail)
    for f in dataclasses.fields(OutgoingEmail):
        object.__setattr__(forged, f.name, fields.get(f.name, getattr(mail, f.name)))
    return forged


def _text(part: MIMEPart) -> str:
    # Messages parsed off the wire keep CRLF line ends; compare text independently of them.
    content: str = part.get_content()
    return content.replace("\r\n", "\n")


_INJECTIONS: dict[str, dict[str, Any]] = {
    "subject": {"subject": "Faktura\r\nBcc: victim@example.com"},
    "to": {"to": "jan@example.com\r\nBcc: victim@example.com"},
    "header": {"headers": (("X-Ebok-Kind", "activation\nBcc: victim@example.com"),)},
    "nul": {"subject": "Faktura\0"},
}


class EmailSenderContract:
    """What every e-mail adapter must do; see the module docstring for how to use it."""

    @pytest.fixture
    def sender(self) -> EmailSender:
        raise NotImplementedError("override the 'sender' fixture")

    @pytest.fixture
    def received(self) -> Received:
        raise NotImplementedError("override the 'received' fixture")

    async def test_message_id_and_headers_survive(
        self, sender: EmailSender, received: Received
    ) -> None:
        mail = sample_mail(
            headers=(("X-Ebok-Kind", "activation"), ("Auto-Submitted", "auto-generated"))
        )
        receipt = await sender.send(mail)
        (got,) = await received()
        assert receipt.message_id == mail.message_id
        assert got["Message-ID"] == mail.message_id
        assert got["X-Ebok-Kind"] == "activation"
        assert got["Auto-Submitted"] == "auto-generated"
        assert got["From"].addresses[0].addr_spec == "no-reply@ebok.example.pl"
        assert got["To"].addresses[0].addr_spec == "jan.kowalski@example.com"
        assert got["Date"].datetime.tzinfo is not None

    async def test_polish_text_survives(self, sender: EmailSender, received: Received) -> None:
        mail = sample_mail(subject=POLISH, text=f"{POLISH}\n", to="Łucja Żółć <lucja@example.com>")
        await sender.send(mail)
        (got,) = await received()
        assert got["Subject"] == POLISH
        assert got["To"].addresses[0].display_name == "Łucja Żółć"
        assert got["From"].addresses[0].display_name == "Biuro Obsługi Klienta"
        body = got.get_body(("plain",))
        assert body is not None and _text(body) == f"{POLISH}\n"

    async def test_html_and_pdf_attachment_survive(
        self, sender: EmailSender, received: Received
    ) -> None:
        html = f"<p>{POLISH}</p>"
        pdf = Attachment("faktura-łódź.pdf", "application/pdf", PDF)
        await sender.send(sample_mail(html=html, attachments=(pdf,)))
        (got,) = await received()
        html_part, text_part = got.get_body(("html",)), got.get_body(("plain",))
        assert html_part is not None and _text(html_part).strip() == html
        assert text_part is not None and "aktywować" in _text(text_part)
        (att,) = got.iter_attachments()
        assert att.get_content_type() == "application/pdf"
        assert att.get_filename() == "faktura-łódź.pdf"
        assert att.get_content() == PDF

    async def test_idn_recipient_is_punycoded(
        self, sender: EmailSender, received: Received
    ) -> None:
        await sender.send(sample_mail(to="Jan <jan@zażółć.pl>"))
        (got,) = await received()
        expected = "zażółć.pl".encode("idna").decode()  # the stdlib codec as an independent oracle
        assert expected.startswith("xn--")
        assert got["To"].addresses[0].domain == expected
        assert expected in got.as_string()

    @pytest.mark.parametrize("field", sorted(_INJECTIONS))
    async def test_header_injection_is_refused(
        self, sender: EmailSender, received: Received, field: str
    ) -> None:
        with pytest.raises(UnsafeHeader):
            sample_mail(**_INJECTIONS[field])
        # The adapter must refuse even a message that slipped past validation.
        with pytest.raises(EmailError):
            await sender.send(forge(sample_mail(), **_INJECTIONS[field]))
        assert await received() == []

    @pytest.mark.parametrize("name", ["Bcc", "From", "content-type"])
    async def test_reserved_extra_header_is_refused(
        self, sender: EmailSender, received: Received, name: str
    ) -> None:
        with pytest.raises(EmailError):
            await sender.send(sample_mail(headers=((name, "victim@example.com"),)))
        assert await received() == []

    async def test_invalid_recipient_is_refused(
        self, sender: EmailSender, received: Received
    ) -> None:
        with pytest.raises(EmailError, match="To"):
            await sender.send(sample_mail(to="not an address"))
        assert await received() == []

    async def test_same_message_id_twice_does_not_crash(
        self, sender: EmailSender, received: Received
    ) -> None:
        # Whether the copy is delivered again is adapter-specific (each adapter documents it);
        # it must not fail and must not alter the Message-ID.
        mail = sample_mail()
        await sender.send(mail)
        await sender.send(mail)
        got = await received()
        assert 1 <= len(got) <= 2
        assert {m["Message-ID"] for m in got} == {mail.message_id}


# The grid-operator contract. Fictional holders with valid check digits; PPEs of Stoen Operator
# in a serial range of their own (...0009...), apart from the bundled sandbox registry's.
_NIP_A, _NIP_B = "1234563218", "7770000028"
_PESEL_A, _PESEL_B = "80010112340", "92021501231"
PPE_CONFIRMED = "590380100009000014"  # distribution, active, held by _NIP_A
PPE_COMPREHENSIVE = "590380100009000021"  # comprehensive, active, held by _PESEL_A
PPE_TERMINATED = "590380100009000038"  # distribution, terminated, held by _NIP_B
PPE_PESEL_HOLDER = "590380100009000045"  # distribution, active, held by _PESEL_B
PPE_UNKNOWN = "590380100009999998"  # valid, never in the registry

_REGISTRY = (
    RegistryRow(PPE_CONFIRMED, _NIP_A, ContractType.DISTRIBUTION, RowStatus.ACTIVE),
    RegistryRow(PPE_COMPREHENSIVE, _PESEL_A, ContractType.COMPREHENSIVE, RowStatus.ACTIVE),
    RegistryRow(PPE_TERMINATED, _NIP_B, ContractType.DISTRIBUTION, RowStatus.TERMINATED),
    RegistryRow(PPE_PESEL_HOLDER, _PESEL_B, ContractType.DISTRIBUTION, RowStatus.ACTIVE),
)


def sample_suspension(**overrides: Any) -> SuspensionRequest:
    """A valid suspension request for ``PPE_CONFIRMED`` with a fresh key; fields overridable."""
    served = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    fields: dict[str, Any] = {
        "key": f"dunning-{uuid.uuid4().hex}",
        "ppe": PPE_CONFIRMED,
        "invoice_number": "FV/2026/01/000123",
        "notice_served_at": served,
        "not_before": served + timedelta(days=14),
    }
    return SuspensionRequest(**(fields | overrides))


def contract_rows() -> tuple[RegistryRow, ...]:
    """The contracts the ``operator`` fixture of :class:`GridOperatorContract` must know."""
    return _REGISTRY


class GridOperatorContract:
    """What every grid-operator adapter must do; see the module docstring for how to use it."""

    REGISTRY: tuple[RegistryRow, ...] = _REGISTRY

    @pytest.fixture
    def operator(self) -> GridOperator:
        raise NotImplementedError("override the 'operator' fixture")

    async def test_active_distribution_contract_of_the_holder_is_confirmed(
        self, operator: GridOperator
    ) -> None:
        answer = await operator.check_distribution_contract(ContractQuery(PPE_CONFIRMED, _NIP_A))
        assert answer.status is ContractStatus.CONFIRMED
        assert answer.contract_type is ContractType.DISTRIBUTION
        assert answer.ppe == PPE_CONFIRMED and answer.reference

    async def test_holder_known_by_pesel_is_confirmed(self, operator: GridOperator) -> None:
        query = ContractQuery(PPE_PESEL_HOLDER, _PESEL_B)
        answer = await operator.check_distribution_contract(query)
        assert answer.status is ContractStatus.CONFIRMED

    async def test_comprehensive_contract_is_no_contract(self, operator: GridOperator) -> None:
        query = ContractQuery(PPE_COMPREHENSIVE, _PESEL_A)
        answer = await operator.check_distribution_contract(query)
        assert answer.status is ContractStatus.NO_CONTRACT
        assert answer.contract_type is ContractType.COMPREHENSIVE

    async def test_terminated_contract_is_no_contract(self, operator: GridOperator) -> None:
        query = ContractQuery(PPE_TERMINATED, _NIP_B)
        answer = await operator.check_distribution_contract(query)
        assert answer.status is ContractStatus.NO_CONTRACT
        assert answer.contract_type is ContractType.DISTRIBUTION

    @pytest.mark.parametrize("holder", [_NIP_B, _PESEL_A])
    async def test_another_holder_gets_other_party(
        self, operator: GridOperator, holder: str
    ) -> None:
        query = ContractQuery(PPE_CONFIRMED, holder)
        answer = await operator.check_distribution_contract(query)
        assert answer.status is ContractStatus.OTHER_PARTY

    async def test_unknown_ppe(self, operator: GridOperator) -> None:
        answer = await operator.check_distribution_contract(ContractQuery(PPE_UNKNOWN, _NIP_A))
        assert answer.status is ContractStatus.UNKNOWN_PPE
        assert answer.contract_type is None and answer.ppe == PPE_UNKNOWN

    async def test_formatted_identifiers_are_normalized(self, operator: GridOperator) -> None:
        spaced = " ".join(PPE_CONFIRMED[i : i + 4] for i in range(0, 18, 4))
        query = ContractQuery(f" {spaced} ", "PL 123-456-32-18")
        answer = await operator.check_distribution_contract(query)
        assert answer.ppe == PPE_CONFIRMED
        assert answer.status is ContractStatus.CONFIRMED

    async def test_answers_are_typed(self, operator: GridOperator) -> None:
        answer = await operator.check_distribution_contract(
            ContractQuery(PPE_COMPREHENSIVE, _PESEL_A)
        )
        assert type(answer) is ContractAnswer
        assert type(answer.status) is ContractStatus
        assert type(answer.contract_type) is ContractType
        assert type(answer.ppe) is str and type(answer.reference) is str

    async def test_repeated_check_gives_the_same_answer(self, operator: GridOperator) -> None:
        query = ContractQuery(PPE_CONFIRMED, _NIP_A)
        first = await operator.check_distribution_contract(query)
        second = await operator.check_distribution_contract(query)
        assert (second.status, second.contract_type) == (first.status, first.contract_type)

    async def test_is_a_grid_operator(self, operator: GridOperator) -> None:
        assert isinstance(operator, GridOperator)

    # --- supply suspensions -------------------------------------------------------------------

    async def test_suspension_is_filed_once_per_key(self, operator: SupplySuspensions) -> None:
        request = sample_suspension()
        first = await operator.request_suspension(request)
        again = await operator.request_suspension(request)
        assert type(first) is SuspensionAnswer
        assert first.key == request.key and first.reference and first.accepted is True
        assert again == first
        other = await operator.request_suspension(sample_suspension())
        assert other.reference != first.reference

    async def test_key_reused_for_another_request_is_rejected(
        self, operator: SupplySuspensions
    ) -> None:
        request = sample_suspension()
        await operator.request_suspension(request)
        with pytest.raises(OperatorRejected):
            await operator.request_suspension(
                dataclasses.replace(request, invoice_number="FV/2026/01/000999")
            )

    async def test_withdrawing_twice_is_not_an_error(self, operator: SupplySuspensions) -> None:
        answer = await operator.request_suspension(sample_suspension())
        await operator.withdraw_suspension(answer.reference)
        await operator.withdraw_suspension(answer.reference)
        # Filing again under the same key finds the (withdrawn) request, not a new one.
        assert (await operator.request_suspension(sample_suspension(key=answer.key))).reference == (
            answer.reference
        )

    async def test_withdrawing_an_unknown_request_is_rejected(
        self, operator: SupplySuspensions
    ) -> None:
        with pytest.raises(OperatorRejected):
            await operator.withdraw_suspension("NO-SUCH-REQUEST/1")

    async def test_is_supply_suspensions(self, operator: SupplySuspensions) -> None:
        assert isinstance(operator, SupplySuspensions)

    # --- outages (a fresh DSO: nothing known anywhere yet) ----------------------------------

    async def test_lookup_gives_the_area_and_no_outage(self, operator: OutageReports) -> None:
        spaced = " ".join(PPE_CONFIRMED[i : i + 4] for i in range(0, 18, 4))
        found = await operator.lookup_outage(spaced)
        assert type(found) is OutageLookup
        assert found.ppe == PPE_CONFIRMED and found.area and found.outage is None
        assert (await operator.lookup_outage(PPE_CONFIRMED)).area == found.area

    async def test_ticket_is_opened_once_per_key(self, operator: OutageReports) -> None:
        area = (await operator.lookup_outage(PPE_CONFIRMED)).area
        request = TicketRequest(
            f"incident-{uuid.uuid4().hex}",
            PPE_CONFIRMED,
            area,
            datetime.now(UTC),
            "Brak prądu w całym budynku",
        )
        ticket = await operator.open_ticket(request)
        assert type(ticket) is OutageTicket and type(ticket.state) is IncidentState
        assert ticket.key == request.key and ticket.reference and not ticket.state.terminal
        again = await operator.open_ticket(request)
        assert again.reference == ticket.reference
        status = await operator.ticket_status(ticket.reference)
        assert type(status) is IncidentStatus and status.reference == ticket.reference
        assert status.changed_at.tzinfo is not None

    async def test_status_of_an_unknown_incident_is_rejected(self, operator: OutageReports) -> None:
        with pytest.raises(OperatorRejected):
            await operator.ticket_status("NO-SUCH-INCIDENT/1")

    async def test_lookup_of_an_invalid_ppe_is_rejected(self, operator: OutageReports) -> None:
        with pytest.raises(OperatorRejected):
            await operator.lookup_outage("590380100009000010")  # wrong check digit

    async def test_is_outage_reports(self, operator: OutageReports) -> None:
        assert isinstance(operator, OutageReports)


# The payment-provider contract.


def sample_payment(**overrides: Any) -> PaymentRequest:
    """A valid payment of 245,67 zł under a fresh key; keyword arguments replace any field."""
    fields: dict[str, Any] = {
        "key": f"inv-{uuid.uuid4().hex}",
        "invoice_number": "FV/2026/02/000101",
        "amount": Money(24567),
        "description": "Faktura FV/2026/02/000101",
        "continue_url": "https://ebok.example.pl/faktury/zaplacone",
        "customer_email": "jan.kowalski@example.com",
    }
    return PaymentRequest(**(fields | overrides))


def _retampered(body: bytes, change: Callable[[dict[str, Any]], None]) -> bytes:
    document = json.loads(body)
    change(document)
    return json.dumps(document).encode()


def _with_signature(headers: dict[str, str], transform: Callable[[str], str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in headers.items():
        if name.lower().endswith("openpayu-signature"):
            parts = [p.split("=", 1) for p in value.split(";")]
            value = ";".join(f"{k}={transform(v) if k == 'signature' else v}" for k, v in parts)
        out[name] = value
    return out


def _flip_last(hex_digits: str) -> str:
    return hex_digits[:-1] + ("0" if hex_digits[-1] != "0" else "1")


class PaymentProviderContract:
    """What every payments adapter must do; see the module docstring for how to use it."""

    @pytest.fixture
    def provider(self) -> PaymentProvider:
        raise NotImplementedError("override the 'provider' fixture")

    @pytest.fixture
    def settle(self) -> Settle:
        raise NotImplementedError("override the 'settle' fixture")

    async def test_is_a_payment_provider(self, provider: PaymentProvider) -> None:
        assert isinstance(provider, PaymentProvider)

    async def test_create_is_idempotent_on_key(self, provider: PaymentProvider) -> None:
        request = sample_payment()
        first = await provider.create_payment(request)
        again = await provider.create_payment(request)
        assert first.key == again.key == request.key
        assert first.provider_ref and again.provider_ref == first.provider_ref
        assert first.redirect_url.startswith("https://")
        other = await provider.create_payment(sample_payment())
        assert other.provider_ref != first.provider_ref

    async def test_key_used_for_another_amount_is_rejected(self, provider: PaymentProvider) -> None:
        request = sample_payment()
        await provider.create_payment(request)
        with pytest.raises(PaymentRejected):
            await provider.create_payment(dataclasses.replace(request, amount=Money(100)))

    async def test_new_payment_is_pending(self, provider: PaymentProvider) -> None:
        request = sample_payment(amount=Money(1))
        created = await provider.create_payment(request)
        state = await provider.payment_status(created.provider_ref)
        assert state.status is PaymentStatus.PENDING
        assert (state.key, state.provider_ref) == (request.key, created.provider_ref)
        assert state.amount == Money(1)

    async def test_status_after_completion(self, provider: PaymentProvider, settle: Settle) -> None:
        created = await provider.create_payment(sample_payment())
        await settle(created.provider_ref, PaymentStatus.COMPLETED)
        state = await provider.payment_status(created.provider_ref)
        assert state.status is PaymentStatus.COMPLETED and state.status.terminal
        assert state.amount == Money(24567)

    async def test_completed_notification_verifies_and_parses(
        self, provider: PaymentProvider, settle: Settle
    ) -> None:
        request = sample_payment()
        created = await provider.create_payment(request)
        body, headers = await settle(created.provider_ref, PaymentStatus.COMPLETED)
        event = await provider.verify_notification(body, headers)
        assert (event.key, event.provider_ref) == (request.key, created.provider_ref)
        assert event.status is PaymentStatus.COMPLETED
        assert event.amount == request.amount and type(event.amount) is Money
        assert event.event_id
        # The provider's retry of the same notification is recognisably the same event.
        replay = await provider.verify_notification(body, dict(headers))
        assert replay == event

    async def test_canceled_notification(self, provider: PaymentProvider, settle: Settle) -> None:
        created = await provider.create_payment(sample_payment())
        body, headers = await settle(created.provider_ref, PaymentStatus.CANCELED)
        event = await provider.verify_notification(body, headers)
        assert event.status is PaymentStatus.CANCELED
        paid = await provider.create_payment(sample_payment())
        paid_event = await provider.verify_notification(
            *await settle(paid.provider_ref, PaymentStatus.COMPLETED)
        )
        assert paid_event.event_id != event.event_id

    async def test_header_names_are_case_insensitive(
        self, provider: PaymentProvider, settle: Settle
    ) -> None:
        created = await provider.create_payment(sample_payment())
        body, headers = await settle(created.provider_ref, PaymentStatus.COMPLETED)
        lower = {name.lower(): value for name, value in headers.items()}
        assert (await provider.verify_notification(body, lower)).provider_ref == (
            created.provider_ref
        )

    @pytest.mark.parametrize("tamper", ["amount", "status", "key", "appended"])
    async def test_tampered_body_is_rejected(
        self, provider: PaymentProvider, settle: Settle, tamper: str
    ) -> None:
        created = await provider.create_payment(sample_payment())
        body, headers = await settle(created.provider_ref, PaymentStatus.CANCELED)
        changes: dict[str, Callable[[dict[str, Any]], None]] = {
            "amount": lambda d: d["order"].update(totalAmount="1"),
            "status": lambda d: d["order"].update(status="COMPLETED"),
            "key": lambda d: d["order"].update(extOrderId="inv-someone-else"),
        }
        forged = body + b" " if tamper == "appended" else _retampered(body, changes[tamper])
        with pytest.raises(NotificationRejected) as info:
            await provider.verify_notification(forged, headers)
        assert "signature" in info.value.reason

    async def test_wrong_signature_is_rejected(
        self, provider: PaymentProvider, settle: Settle
    ) -> None:
        created = await provider.create_payment(sample_payment())
        body, headers = await settle(created.provider_ref, PaymentStatus.COMPLETED)
        for transform in (_flip_last, lambda sig: sig[:-2], lambda sig: "", lambda sig: "zz"):
            with pytest.raises(NotificationRejected):
                await provider.verify_notification(body, _with_signature(headers, transform))

    async def test_missing_or_unknown_signature_header_is_rejected(
        self, provider: PaymentProvider, settle: Settle
    ) -> None:
        created = await provider.create_payment(sample_payment())
        body, headers = await settle(created.provider_ref, PaymentStatus.COMPLETED)
        unsigned = {k: v for k, v in headers.items() if "signature" not in k.lower()}
        with pytest.raises(NotificationRejected, match="missing"):
            await provider.verify_notification(body, unsigned)
        for junk in ("", "garbage", "signature=abc;algorithm=ROT13", "sender=x;algorithm=MD5"):
            with pytest.raises(NotificationRejected):
                await provider.verify_notification(body, unsigned | {"OpenPayU-Signature": junk})

    async def test_refund_is_idempotent_on_key(
        self, provider: PaymentProvider, settle: Settle
    ) -> None:
        created = await provider.create_payment(sample_payment())
        await settle(created.provider_ref, PaymentStatus.COMPLETED)
        request = RefundRequest(
            f"ref-{uuid.uuid4().hex}", created.provider_ref, Money(1000), "Nadpłata"
        )
        first = await provider.refund(request)
        again = await provider.refund(request)
        assert first.key == request.key and first.refund_ref
        assert again.refund_ref == first.refund_ref
        second = await provider.refund(dataclasses.replace(request, key=f"ref-{uuid.uuid4().hex}"))
        assert second.refund_ref != first.refund_ref

    async def test_refund_beyond_what_was_paid_is_rejected(
        self, provider: PaymentProvider, settle: Settle
    ) -> None:
        pending = await provider.create_payment(sample_payment())
        request = RefundRequest(f"ref-{uuid.uuid4().hex}", pending.provider_ref, Money(100), "x")
        with pytest.raises(PaymentRejected):  # nothing was paid yet
            await provider.refund(request)
        await settle(pending.provider_ref, PaymentStatus.COMPLETED)
        with pytest.raises(PaymentRejected):
            await provider.refund(dataclasses.replace(request, amount=Money(24568)))

    async def test_waiting_payment_is_captured_once(
        self, provider: PaymentProvider, settle: Settle
    ) -> None:
        created = await provider.create_payment(sample_payment())
        with pytest.raises(PaymentRejected):  # nothing authorised to take yet
            await provider.capture_payment(created.provider_ref)
        body, headers = await settle(created.provider_ref, PaymentStatus.WAITING_FOR_CONFIRMATION)
        event = await provider.verify_notification(body, headers)
        assert event.status is PaymentStatus.WAITING_FOR_CONFIRMATION
        assert not event.status.terminal and event.amount == Money(24567)
        await provider.capture_payment(created.provider_ref)
        await provider.capture_payment(created.provider_ref)  # a twin call: no error
        state = await provider.payment_status(created.provider_ref)
        assert state.status is PaymentStatus.COMPLETED and state.amount == Money(24567)
        with pytest.raises(PaymentRejected):  # taken: only a refund gives it back
            await provider.cancel_payment(created.provider_ref)

    async def test_waiting_payment_is_cancelled_once(
        self, provider: PaymentProvider, settle: Settle
    ) -> None:
        created = await provider.create_payment(sample_payment())
        await settle(created.provider_ref, PaymentStatus.WAITING_FOR_CONFIRMATION)
        await provider.cancel_payment(created.provider_ref)
        await provider.cancel_payment(created.provider_ref)  # a twin call: no error
        state = await provider.payment_status(created.provider_ref)
        assert state.status is PaymentStatus.CANCELED
        with pytest.raises(PaymentRejected):
            await provider.capture_payment(created.provider_ref)
        with pytest.raises(PaymentRejected):
            await provider.capture_payment("NO-SUCH-ORDER-0000000001")

    async def test_unknown_payment_is_rejected(self, provider: PaymentProvider) -> None:
        with pytest.raises(PaymentRejected):
            await provider.payment_status("NO-SUCH-ORDER-0000000001")

    async def test_aclose_twice_is_fine(self, provider: PaymentProvider) -> None:
        await provider.aclose()
        await provider.aclose()
        with pytest.raises((PaymentError, RuntimeError)):
            await provider.create_payment(sample_payment())
