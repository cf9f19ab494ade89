"""Interruption limits and the compensation (bonifikata) for going over them, as pure rules.

The law (``docs/outage-compensation.md`` quotes and cites it):

- the limits: the regulation of the Minister of Climate and Environment of 22 March 2023 on the
  detailed conditions of operating the power system (Dz.U. 2023 poz. 819), § 47 ust. 5 (as
  § 40 ust. 5 of the 2007 regulation before it, Dz.U. 2007 nr 93 poz. 623). For connection
  groups IV and V one interruption may last at most 16 h (planned) or 24 h (unplanned), and
  all interruptions of a calendar year at most 35 h (planned) or 48 h (unplanned). For groups
  I-III and VI the distribution contract sets them (§ 40 ust. 4 of the 2007 text), so here
  they have none;
- the amount: the tariff regulation of 29 November 2022 (Dz.U. 2022 poz. 2505), § 43: for each
  unit of energy not supplied, ten times the price of energy of art. 23 ust. 2 pkt 18 lit. b
  of the Energy Law for a customer connected at up to 1 kV (groups IV-VI), five times above;
  the energy not supplied is what the customer drew on the same day of the previous week,
  counting only the time beyond the permissible interruption.

The distribution system operator computes and grants the bonifikata; these functions give the
back office and the customer's mail the same answer the rules give, and are what the yearly
counters per PPE (``ebok.store.outages``) are read with. Pure and deterministic: workflow code
may call them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

from ebok.models.outage import Kind
from ebok.money import Money

__all__ = [
    "STATUTORY_LIMITS",
    "Group",
    "Limits",
    "compensation",
    "limits_for",
    "multiplier",
    "split_by_year",
    "time_over_limit",
    "time_over_limits",
    "time_over_yearly",
]

WARSAW = ZoneInfo("Europe/Warsaw")
ZERO = timedelta(0)


class Group(StrEnum):
    """Connection group (grupa przyłączeniowa) of the tariff regulation, § 3: by voltage and
    power. Households are group V (up to 1 kV, up to 40 kW)."""

    I = "I"  # noqa: E741 (the law's numeral)
    II = "II"
    III = "III"
    IV = "IV"
    V = "V"
    VI = "VI"  # temporary connections (building sites, seasonal), up to 1 kV

    @property
    def low_voltage(self) -> bool:
        """Connected at up to 1 kV: groups IV, V and VI."""
        return self in (Group.IV, Group.V, Group.VI)


@dataclass(frozen=True)
class Limits:
    """How long one interruption, and all of a calendar year together, may last."""

    single: timedelta
    yearly: timedelta


STATUTORY_LIMITS: dict[Kind, Limits] = {
    Kind.PLANNED: Limits(single=timedelta(hours=16), yearly=timedelta(hours=35)),
    Kind.UNPLANNED: Limits(single=timedelta(hours=24), yearly=timedelta(hours=48)),
}


def limits_for(group: Group, kind: Kind) -> Limits | None:
    """The regulation's limits for groups IV and V; None where the contract sets them."""
    if group in (Group.IV, Group.V):
        return STATUTORY_LIMITS[kind]
    return None


def time_over_limit(duration: timedelta, earlier: timedelta, limits: Limits) -> timedelta:
    """The part of one interruption beyond the permissible time.

    ``earlier``: interruptions of the same kind at the same PPE earlier in the calendar year.
    Both limits cut off the interruption's last hours (beyond hour 24 of it, or beyond hour 48
    of the year), so the two excesses overlap and the longer one counts, never their sum."""
    return time_over_limits([(duration, earlier)], limits)


def time_over_limits(parts: Sequence[tuple[timedelta, timedelta]], limits: Limits) -> timedelta:
    """:func:`time_over_limit` of an interruption over New Year: ``(part, earlier)`` per
    calendar year (:func:`split_by_year`), each year's part against that year's total."""
    duration = sum((max(part, ZERO) for part, _ in parts), ZERO)
    return max(duration - limits.single, time_over_yearly(parts, limits), ZERO)


def time_over_yearly(parts: Sequence[tuple[timedelta, timedelta]], limits: Limits) -> timedelta:
    """The part of an interruption that takes its calendar year past the yearly limit."""
    over = ZERO
    for part, earlier in parts:
        part, earlier = max(part, ZERO), max(earlier, ZERO)
        over += max(earlier + part - limits.yearly, ZERO) - max(earlier - limits.yearly, ZERO)
    return over


def multiplier(group: Group) -> int:
    """Times the price of energy per unit not supplied: 10 up to 1 kV, 5 above."""
    return 10 if group.low_voltage else 5


def compensation(over: timedelta, usage_kw: Decimal, price_per_kwh: Decimal, group: Group) -> Money:
    """The bonifikata for ``over`` beyond the limit: the energy not supplied in that time
    (``usage_kw``: the average power drawn in those hours of the previous week, kWh per hour)
    times the multiplier times the price (zł per kWh), rounded to the grosz."""
    if over <= ZERO or usage_kw <= 0 or price_per_kwh <= 0:
        return Money(0)
    hours = Decimal(int(over.total_seconds())) / 3600
    amount = hours * usage_kw * price_per_kwh * multiplier(group)
    return Money(int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)))


def split_by_year(start: datetime, end: datetime) -> list[tuple[int, timedelta]]:
    """An interruption's time per calendar year (Polish time): one over New Year's Eve counts
    towards both years' totals."""
    if end <= start:
        return []
    parts: list[tuple[int, timedelta]] = []
    at, stop = start.astimezone(UTC), end.astimezone(UTC)
    while at < stop:
        year = at.astimezone(WARSAW).year
        # Compared in UTC: wall-clock arithmetic in one zone would skip the DST hour.
        new_year = datetime(year + 1, 1, 1, tzinfo=WARSAW).astimezone(UTC)
        upto = min(stop, new_year)
        parts.append((year, upto - at))
        at = upto
    return parts
