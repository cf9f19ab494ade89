"""What a business debtor owes for paying late: statutory interest for delay in commercial
transactions and the fixed recovery compensation, under the Act of 8 March 2013 on counteracting
excessive delays in commercial transactions (ustawa o przeciwdziałaniu nadmiernym opóźnieniom
w transakcjach handlowych; consolidated text Dz.U. 2023 poz. 1790). Sources and the rules'
wording: ``docs/invoice-law.md``.

Pure and deterministic like ``ebok.interest``: the tables are arguments (copied into each
invoice workflow's input from settings), never read from anywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

from ebok.interest import RateTable, RateTableError, as_setting_string
from ebok.money import Money

__all__ = [
    "COMPENSATION_BANDS",
    "DEFAULT_COMMERCIAL_INTEREST_RATES",
    "DEFAULT_EUR_PLN_RATES",
    "Compensation",
    "EurRateMissing",
    "EurRates",
    "commercial_rate_table",
    "compensation_eur",
    "recovery_compensation",
]

# Art. 11a ust. 1: the NBP reference rate + 10 percentage points (+ 8 pp before 2020-01-01,
# and still + 8 pp where the debtor is a public entity that is a medical entity, which an
# electricity customer of ours never is). Art. 11b: the reference rate in force on 1 January
# holds for the first half-year, the one in force on 1 July for the second. Art. 11c: the
# minister responsible for the economy announces the rate in Monitor Polski.
#   2016-01-01  9.50  1.50 + 8; M.P. 2016 poz. 43 (and unchanged every half-year to 2019)
#   2020-01-01 11.50  1.50 + 10 (the Act of 19 July 2019, Dz.U. 2019 poz. 1649)
#   2020-07-01 10.10  0.10 + 10 (reference rate 0.10 from 2020-05-29); M.P. 2020 poz. 1212
#                     announces the same 10.10 for 2021 H1
#   2022-01-01 11.75  1.75 + 10 (reference rate from 2021-12-09)
#   2022-07-01 16.00  6.00 + 10 (reference rate from 2022-06-09)
#   2023-01-01 16.75  6.75 + 10 (reference rate from 2022-09-08; unchanged on 2023-07-01)
#   2024-01-01 15.75  5.75 + 10 (reference rate from 2023-10-05; unchanged to 2025-01-01)
#   2025-07-01 15.25  5.25 + 10 (reference rate from 2025-05-08; cut to 5.00 only on 07-03)
#   2026-01-01 14.00  4.00 + 10 (reference rate from 2025-12-04)
# The reference rates are those of EBOK_LATE_INTEREST_RATES (each its statutory rate − 5.5).
# A half-year whose rate equals the previous one needs no item. Operations append
# "YYYY-07-01:rate" / "YYYY-01-01:rate" from each announcement: nothing here can know one.
DEFAULT_COMMERCIAL_INTEREST_RATES = (
    "2016-01-01:9.50,2020-01-01:11.50,2020-07-01:10.10,2022-01-01:11.75,2022-07-01:16.00,"
    "2023-01-01:16.75,2024-01-01:15.75,2025-07-01:15.25,2026-01-01:14.00"
)

# NBP table A average EUR rate of the last business day of a month, "YYYY-MM-DD:rate".
#   2025-10-31 4.2543  NBP table A of Friday 31 October 2025 (as reported by wprost.pl)
# Art. 10 ust. 1 converts at the rate of the last business day of the month before the month
# the payment fell due: append the month's rate before invoices due the month after it are
# demanded. A missing month is an error, never a guess.
DEFAULT_EUR_PLN_RATES = "2025-10-31:4.2543"

# Art. 10 ust. 1: (upper bound of the claim in grosze, inclusive or not, euro).
COMPENSATION_BANDS = ((500_000, True, 40), (5_000_000, False, 70))
COMPENSATION_TOP = 100  # a claim equal to or above 50 000 zł

_EUR_ITEM = re.compile(r"(?P<day>[0-9]{4}-[0-9]{2}-[0-9]{2}):(?P<rate>[0-9]{1,2}\.[0-9]{1,4})")


def commercial_rate_table(text: str) -> RateTable:
    """A commercial-transaction rate table: each rate starts a half-year (art. 11b)."""
    table = RateTable.parse(text)
    for period in table.periods:
        if (period.start.month, period.start.day) not in ((1, 1), (7, 1)):
            raise RateTableError(
                f"{period.start}: a commercial rate starts on 1 January or 1 July (art. 11b)"
            )
    return table


def compensation_eur(value: Money) -> int:
    """Art. 10 ust. 1: 40 euro for a claim not above 5 000 zł, 70 euro above 5 000 zł and
    below 50 000 zł, 100 euro for 50 000 zł or more."""
    if value.grosze < 0:
        raise ValueError("a claim must not be negative")
    for bound, inclusive, eur in COMPENSATION_BANDS:
        if value.grosze < bound or (inclusive and value.grosze == bound):
            return eur
    return COMPENSATION_TOP


class EurRateMissing(RateTableError):
    """The EUR rate a compensation needs is not in EBOK_EUR_PLN_RATES."""


@dataclass(frozen=True, slots=True)
class EurRates:
    """NBP average EUR rates (PLN per euro) by day; only month ends are needed."""

    rates: tuple[tuple[date, Decimal], ...]

    def __post_init__(self) -> None:
        for (before, _), (after, _) in zip(self.rates, self.rates[1:], strict=False):
            if after <= before:
                raise RateTableError(f"dates must increase: {after} after {before}")
        for day, rate in self.rates:
            if not Decimal(1) <= rate <= Decimal(10):
                raise RateTableError(f"EUR rate of {day} must be 1-10 zł")

    @classmethod
    def parse(cls, text: str) -> EurRates:
        """Reads "2025-10-31:4.2543,…" (dates increasing); an empty text is an empty table."""
        rates = []
        items = [p.strip() for p in text.split(",")] if text.strip() else []
        for number, item in enumerate(items, start=1):
            match = _EUR_ITEM.fullmatch(item)
            if match is None:
                raise RateTableError(f'item {number} must look like "2025-10-31:4.2543"')
            try:
                day = date.fromisoformat(match["day"])
            except ValueError:
                raise RateTableError(f"item {number}: {match['day']} is not a date") from None
            rates.append((day, Decimal(match["rate"])))
        return cls(tuple(rates))

    def __str__(self) -> str:
        return ",".join(f"{d.isoformat()}:{r}" for d, r in self.rates)

    def for_due(self, due: date) -> tuple[date, Decimal]:
        """The rate art. 10 ust. 1 converts at for a payment due on ``due``: the last one
        listed in the month before ``due``'s month (the table lists each month's last
        business day)."""
        month_before = due.replace(day=1) - timedelta(days=1)
        found = [
            (d, r)
            for d, r in self.rates
            if (d.year, d.month) == (month_before.year, month_before.month)
        ]
        if not found:
            raise EurRateMissing(
                f"EBOK_EUR_PLN_RATES has no NBP EUR rate for {month_before:%Y-%m} (its last "
                f"business day), needed for a payment due on {due.isoformat()}"
            )
        return found[-1]

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        # In a workflow input the table travels as its setting string, as RateTable does.
        return as_setting_string(cls, "eur_rates", "2025-10-31:4.2543,…")


@dataclass(frozen=True, slots=True)
class Compensation:
    eur: int
    rate: Decimal  # PLN per euro
    rate_date: date
    amount: Money  # eur × rate, rounded half up to the grosz


def recovery_compensation(value: Money, due: date, rates: EurRates) -> Compensation:
    """Art. 10 ust. 1: the fixed compensation for a claim of ``value`` due on ``due``, in
    złoty. Raises EurRateMissing when the month's rate is not in ``rates``."""
    eur = compensation_eur(value)
    day, rate = rates.for_due(due)
    grosze = (Decimal(eur) * rate * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return Compensation(eur, rate, day, Money(int(grosze)))
