"""From a stored invoice to the printable :class:`InvoiceDocument` attached to the e-invoice."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from ebok.documents.invoice import Correction, InvoiceDocument, InvoiceLine, Party, VatTotal
from ebok.money import Money
from ebok.store.invoices import InvoiceRecord

__all__ = ["document_for", "seller_party"]


def seller_party(seller: str, nip: str | None) -> Party:
    """``"Name, street, postcode city"`` from settings → the seller's block."""
    name, *address = [part.strip() for part in seller.split(",")]
    return Party(name=name, address=tuple(address), nip=nip)


def _vat_totals(lines: Sequence[InvoiceLine]) -> tuple[VatTotal, ...]:
    by_rate: dict[int, tuple[Money, Money]] = {}
    for line in lines:
        net, vat = by_rate.get(line.vat_rate, (Money.ZERO, Money.ZERO))
        by_rate[line.vat_rate] = (net + line.net, vat + line.vat)
    return tuple(
        VatTotal(rate, net, vat, net + vat) for rate, (net, vat) in sorted(by_rate.items())
    )


def _line(raw: dict[str, Any]) -> InvoiceLine:
    net = Money(int(raw["net"]))
    price = raw.get("unit_price_net")
    return InvoiceLine(
        description=raw["description"],
        quantity=Decimal(str(raw.get("quantity", "1"))),
        unit=raw.get("unit", ""),
        unit_price_net=Decimal(str(price)) if price is not None else net,
        vat_rate=int(raw["vat_rate"]),
        net=net,
        vat=Money(int(raw["vat"])),
        gross=Money(int(raw["gross"])),
    )


def document_for(
    invoice: InvoiceRecord,
    *,
    seller: Party,
    buyer_name: str,
    buyer_nip: str | None = None,
    ppes: Sequence[str],
    pay_url: str | None,
    corrected_issue: date | None = None,
) -> InvoiceDocument:
    assert invoice.lines is not None and invoice.due_date is not None and invoice.nrb
    lines = tuple(_line(raw) for raw in invoice.lines["items"])
    totals = _vat_totals(lines)
    start, end = (date.fromisoformat(d) for d in invoice.lines["period"])
    correction = (
        Correction(
            invoice.correction_of,
            min(corrected_issue or invoice.issue_date, invoice.issue_date),
            f"korekta faktury {invoice.correction_of}",
        )
        if invoice.correction_of
        else None
    )
    return InvoiceDocument(
        number=invoice.number,
        issue_date=invoice.issue_date,
        period_from=start,
        period_to=end,
        due_date=invoice.due_date,
        seller=seller,
        buyer=Party(name=buyer_name, address=(), nip=buyer_nip),
        partner_number=invoice.partner_number,
        contract_account=invoice.contract_account,
        ppes=tuple(ppes),
        lines=lines,
        vat_totals=totals,
        gross_total=sum((t.gross for t in totals), Money.ZERO),
        nrb=invoice.nrb,
        pay_url=pay_url,
        correction=correction,
    )
