"""What an invoice (faktura VAT) or a correction (faktura korygująca) prints: a checked record.

Billing computes the amounts; these classes refuse a document that does not add up (a line's
gross is not net + VAT, the VAT summary disagrees with the lines, the total with the summary),
so a wrong figure never reaches a customer on paper. Errors are ebok.errors.InvalidInput
naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ebok.errors import InvalidInput
from ebok.ids import (
    InvalidIdentifier,
    normalize_nip,
    normalize_nrb,
    normalize_partner_number,
    normalize_ppe,
)
from ebok.money import Money

__all__ = ["Correction", "InvoiceDocument", "InvoiceLine", "Party", "VatTotal"]

TEXT_MAX = 2000  # a line description or an address line; the layout wraps, never cuts
NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9/._-]{0,39}")  # as billing_import accepts them
CONTRACT_ACCOUNT = re.compile(r"[0-9]{12}")
URL = re.compile(r"https?://[^\s\x00-\x1f\x7f]{1,2000}")


def _text(field: str, value: str, *, required: bool = True) -> None:
    if required and not value.strip():
        raise InvalidInput.one(field, "must not be empty")
    if len(value) > TEXT_MAX:
        raise InvalidInput.one(field, f"must be at most {TEXT_MAX} characters")


def _ident(field: str, check: Callable[[str], str], value: str) -> None:
    try:
        check(value)
    except InvalidIdentifier as e:
        raise InvalidInput.one(field, e.problem) from None


@dataclass(frozen=True, slots=True)
class Party:
    """Seller or buyer: a name, address lines as printed, and a NIP where there is one."""

    name: str
    address: tuple[str, ...]
    nip: str | None = None

    def __post_init__(self) -> None:
        _text("name", self.name)
        for i, line in enumerate(self.address):
            _text(f"address[{i}]", line, required=False)
        if self.nip is not None:
            _ident("nip", normalize_nip, self.nip)


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    """One position. ``unit_price_net`` is in złoty and may have more than two places, as
    energy is priced per kWh to four (e.g. 0.6212); a Money is taken as well."""

    description: str
    quantity: Decimal
    unit: str
    unit_price_net: Decimal | Money
    vat_rate: int  # percent: 23, 8, 5, 0
    net: Money
    vat: Money
    gross: Money

    def __post_init__(self) -> None:
        _text("description", self.description)
        _text("unit", self.unit, required=False)
        if len(self.unit) > 10:
            raise InvalidInput.one("unit", "must be at most 10 characters")
        for name in ("quantity", "unit_price_net"):
            value = getattr(self, name)
            if isinstance(value, Decimal) and not value.is_finite():
                raise InvalidInput.one(name, "must be a finite number")
        _rate("vat_rate", self.vat_rate)
        if self.gross != self.net + self.vat:
            raise InvalidInput.one("gross", "must equal net + VAT")


@dataclass(frozen=True, slots=True)
class VatTotal:
    """The summary row of one VAT rate. Its VAT may differ from the sum of the lines' VAT by
    rounding, as the law allows VAT to be computed on the rate's net total."""

    vat_rate: int
    net: Money
    vat: Money
    gross: Money

    def __post_init__(self) -> None:
        _rate("vat_rate", self.vat_rate)
        if self.gross != self.net + self.vat:
            raise InvalidInput.one("gross", "must equal net + VAT")


@dataclass(frozen=True, slots=True)
class Correction:
    """What makes a document a faktura korygująca: the invoice it corrects and why."""

    corrected_number: str
    corrected_issue_date: date
    reason: str

    def __post_init__(self) -> None:
        if not NUMBER.fullmatch(self.corrected_number):
            raise InvalidInput.one("corrected_number", 'must look like "FV/2026/11/000101"')
        _text("reason", self.reason)


def _rate(field: str, rate: int) -> None:
    if type(rate) is not int or not 0 <= rate <= 100:
        raise InvalidInput.one(field, "must be a whole percent from 0 to 100")


@dataclass(frozen=True, slots=True)
class InvoiceDocument:
    """Everything printed on one invoice; amounts of a correction are the differences."""

    number: str
    issue_date: date
    period_from: date  # the sale (settlement) period
    period_to: date
    due_date: date
    seller: Party
    buyer: Party
    partner_number: str
    contract_account: str
    ppes: tuple[str, ...]
    lines: tuple[InvoiceLine, ...]
    vat_totals: tuple[VatTotal, ...]
    gross_total: Money
    nrb: str  # the partner's individual account number: a transfer to it identifies them
    pay_url: str | None = None
    amount_in_words: str | None = None
    correction: Correction | None = None

    def __post_init__(self) -> None:
        if not NUMBER.fullmatch(self.number):
            raise InvalidInput.one("number", 'must look like "FV/2026/11/000101"')
        if self.period_from > self.period_to:
            raise InvalidInput.one("period_to", "must not be before period_from")
        if self.due_date < self.issue_date:
            raise InvalidInput.one("due_date", "must not be before issue_date")
        if self.correction and self.correction.corrected_issue_date > self.issue_date:
            raise InvalidInput.one("correction", "corrects an invoice issued after it")
        _ident("partner_number", normalize_partner_number, self.partner_number)
        if not CONTRACT_ACCOUNT.fullmatch(self.contract_account):
            raise InvalidInput.one("contract_account", "must have 12 digits")
        for i, ppe in enumerate(self.ppes):
            _ident(f"ppes[{i}]", normalize_ppe, ppe)
        _ident("nrb", normalize_nrb, self.nrb)
        if self.pay_url is not None and not URL.fullmatch(self.pay_url):
            raise InvalidInput.one("pay_url", "must be an http(s) URL without spaces")
        if self.amount_in_words is not None:
            _text("amount_in_words", self.amount_in_words)
        self._check_sums()

    def _check_sums(self) -> None:
        if not self.lines:
            raise InvalidInput.one("lines", "an invoice needs at least one line")
        rates = [t.vat_rate for t in self.vat_totals]
        if len(set(rates)) != len(rates):
            raise InvalidInput.one("vat_totals", "one row per VAT rate")
        by_rate = {t.vat_rate: t for t in self.vat_totals}
        for i, line in enumerate(self.lines):
            if line.vat_rate not in by_rate:
                raise InvalidInput.one(f"lines[{i}].vat_rate", "has no row in vat_totals")
        for rate, total in by_rate.items():
            net = sum((line.net for line in self.lines if line.vat_rate == rate), Money.ZERO)
            if total.net != net:
                raise InvalidInput.one(f"vat_totals[{rate}%].net", "differs from the lines")
        if self.gross_total != sum((t.gross for t in self.vat_totals), Money.ZERO):
            raise InvalidInput.one("gross_total", "differs from the sum of vat_totals")

    @property
    def is_correction(self) -> bool:
        return self.correction is not None
