"""Statutory late interest (odsetki ustawowe za opóźnienie, Civil Code art. 481 § 2).

Pure and deterministic, so workflow code may call it: the rate table is an argument (workflows
get it in their input, copied from the settings by the client), never read from anywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import PydanticCustomError, core_schema

from ebok.money import Money

__all__ = [
    "DEFAULT_LATE_INTEREST_RATES",
    "RatePeriod",
    "RateTable",
    "RateTableError",
    "late_interest",
]

# The annual rate is the NBP reference rate + 5.5 percentage points (art. 481 § 2 of the Civil
# Code, since 2016-01-01), so it changes on the day a Monetary Policy Council resolution on the
# reference rate takes effect; the Minister of Justice announces each new rate in Monitor
# Polski. Checked against those announcements (and ZUS's published list) up to the cut of
# 5 March 2026. Operations must update EBOK_LATE_INTEREST_RATES (appending "date:rate") on the
# day a new reference rate takes effect: nothing here can know about a future change.
DEFAULT_LATE_INTEREST_RATES = (
    "2016-01-01:7.00,2020-03-18:6.50,2020-04-09:6.00,2020-05-29:5.60,2021-10-07:6.00,"
    "2021-11-04:6.75,2021-12-09:7.25,2022-01-05:7.75,2022-02-09:8.25,2022-03-09:9.00,"
    "2022-04-07:10.00,2022-05-06:10.75,2022-06-09:11.50,2022-07-08:12.00,2022-09-08:12.25,"
    "2023-09-07:11.50,2023-10-05:11.25,2025-05-08:10.75,2025-07-03:10.50,2025-09-04:10.25,"
    "2025-10-09:10.00,2025-11-06:9.75,2025-12-04:9.50,2026-03-05:9.25"
)

DAYS_IN_YEAR = 365  # actual/365, as courts and ZUS compute it, leap years included
_ITEM = re.compile(r"(?P<day>[0-9]{4}-[0-9]{2}-[0-9]{2}):(?P<rate>[0-9]{1,3}(?:\.[0-9]{1,2})?)")


class RateTableError(ValueError):
    """A rate table that cannot be used, or a day it has no rate for."""


@dataclass(frozen=True, slots=True)
class RatePeriod:
    start: date
    rate: Decimal  # percent a year, e.g. Decimal("11.25")


@dataclass(frozen=True, slots=True)
class RateTable:
    """Annual rates from their start dates; each holds until the next one starts."""

    periods: tuple[RatePeriod, ...]

    def __post_init__(self) -> None:
        if not self.periods:
            raise RateTableError("the rate table is empty")
        for before, after in zip(self.periods, self.periods[1:], strict=False):
            if after.start <= before.start:
                raise RateTableError(f"dates must increase: {after.start} after {before.start}")
        for period in self.periods:
            if not Decimal(0) <= period.rate <= Decimal(100):
                raise RateTableError(f"rate from {period.start} must be 0-100 percent")

    @classmethod
    def parse(cls, text: str) -> RateTable:
        """Reads "2016-01-01:7.00,2020-03-18:6.50,…" (dates in increasing order)."""
        periods = []
        for number, item in enumerate((p.strip() for p in text.split(",")), start=1):
            match = _ITEM.fullmatch(item)
            if match is None:
                raise RateTableError(
                    f'item {number} must look like "2016-01-01:7.00" '
                    "(items separated by commas, a dot before the decimals)"
                )
            try:
                start = date.fromisoformat(match["day"])
            except ValueError:
                raise RateTableError(f"item {number}: {match['day']} is not a date") from None
            periods.append(RatePeriod(start, Decimal(match["rate"])))
        return cls(tuple(periods))

    def __str__(self) -> str:
        return ",".join(f"{p.start.isoformat()}:{p.rate:.2f}" for p in self.periods)

    def rate_on(self, day: date) -> Decimal:
        return next(rate for _, _, rate in self.spans(day, day))

    def spans(self, first: date, last: date) -> Iterator[tuple[date, date, Decimal]]:
        """(from, to, rate) pieces covering first..last, both inclusive."""
        if first < self.periods[0].start:
            raise RateTableError(f"no rate before {self.periods[0].start} (asked for {first})")
        for period, following in zip(self.periods, (*self.periods[1:], None), strict=True):
            end = following.start - timedelta(days=1) if following else last
            lo, hi = max(first, period.start), min(last, end)
            if lo <= hi:
                yield lo, hi, period.rate

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        # In a workflow input the table travels as its setting string.
        return as_setting_string(cls, "rate_table", "2016-01-01:7.00,…")


def as_setting_string(cls: Any, error_type: str, example: str) -> core_schema.CoreSchema:
    """The pydantic schema of a dated table that travels as its setting string: ``cls`` is
    taken as it is or parsed with ``cls.parse`` (a :class:`RateTableError` becomes a
    validation error of ``error_type``), and written back with ``str``."""

    def validate(value: Any) -> Any:
        if isinstance(value, cls):
            return value
        if not isinstance(value, str):
            raise PydanticCustomError(error_type, f'must be a string like "{example}"')
        try:
            return cls.parse(value)
        except RateTableError as e:
            raise PydanticCustomError(error_type, str(e)) from None

    return core_schema.no_info_plain_validator_function(
        validate,
        json_schema_input_schema=core_schema.str_schema(),
        serialization=core_schema.plain_serializer_function_ser_schema(
            str, return_schema=core_schema.str_schema()
        ),
    )


def late_interest(amount: Money, due: date, paid_on: date, table: RateTable) -> Money:
    """Interest on ``amount`` paid on ``paid_on`` when it was due on ``due``.

    Counted for each day from the day after ``due`` up to and including ``paid_on``, at the
    rate of that day, rate/365 a day; summed exactly and rounded half up to grosze once, at the
    end. Zero when paid on or before the due date. Raises RateTableError for days before the
    table's first date, and ValueError for a negative amount.
    """
    if amount.grosze < 0:
        raise ValueError("amount must not be negative")
    if paid_on <= due or not amount:
        return Money.ZERO
    spans = table.spans(due + timedelta(days=1), paid_on)
    percent_days = sum((rate * ((hi - lo).days + 1) for lo, hi, rate in spans), Decimal(0))
    with localcontext() as ctx:
        # 60 digits hold any 64-bit amount times centuries of days exactly; only the final
        # division rounds, far below a grosz.
        ctx.prec = 60
        grosze = Decimal(amount.grosze) * percent_days / (100 * DAYS_IN_YEAR)
        return Money(int(grosze.quantize(Decimal(1), rounding=ROUND_HALF_UP)))
