"""Sign-in throttling as pure functions of one state: when a sign-in may be tried again.

Two brakes, both kept in the store (``ebok/store/sign_in.py``), never in Temporal:

- **per account** (or per unknown login, so a lock says nothing about whether an account
  exists): after ``lock_after`` failures in a row each further failure blocks sign-in for a
  delay that doubles, from ``first_delay`` up to ``max_delay``. A success ends the run of
  failures. The first block of a run is "the lock": the account's owner gets one mail with a
  password-reset link, and no more until the run ends.
- **per client address** (an IPv6 client by its /64): at most ``ip_limit`` failed sign-ins in
  a fixed window of ``ip_window``; beyond it the address is refused until the window ends.

Failures while blocked are refused before the password is checked and do not count, so a
blocked account cannot be pushed further away by someone hammering it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

__all__ = [
    "Throttle",
    "ThrottleRules",
    "after_failure",
    "after_success",
    "blocked_until",
    "client_network",
    "ip_window_start",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# 2**_MAX_DOUBLINGS times the first delay is beyond any sensible cap; keeps the power small.
_MAX_DOUBLINGS = 30


@dataclass(frozen=True)
class ThrottleRules:
    lock_after: int = 5
    first_delay: timedelta = timedelta(minutes=1)
    max_delay: timedelta = timedelta(hours=1)
    ip_limit: int = 100
    ip_window: timedelta = timedelta(minutes=15)

    def __post_init__(self) -> None:
        if self.lock_after < 1 or self.ip_limit < 1:
            raise ValueError("lock_after and ip_limit must be at least 1")
        if not timedelta(0) < self.first_delay <= self.max_delay:
            raise ValueError("need 0 < first_delay <= max_delay")
        if self.ip_window <= timedelta(0):
            raise ValueError("ip_window must be positive")

    def delay(self, failures: int) -> timedelta:
        """How long sign-in is blocked after the ``failures``-th failure in a row."""
        if failures < self.lock_after:
            return timedelta(0)
        doublings = min(failures - self.lock_after, _MAX_DOUBLINGS)
        grown: timedelta = self.first_delay * (1 << doublings)
        return min(grown, self.max_delay)


@dataclass(frozen=True)
class Throttle:
    """One account's (or unknown login's) run of failed sign-ins."""

    failures: int = 0
    blocked_until: datetime | None = None
    lock_mailed: bool = False


def blocked_until(state: Throttle, now: datetime) -> datetime | None:
    """Until when sign-in is refused without a look at the password; None: it may be tried."""
    if state.blocked_until is not None and state.blocked_until > now:
        return state.blocked_until
    return None


def after_failure(rules: ThrottleRules, state: Throttle, now: datetime) -> tuple[Throttle, bool]:
    """The state after one more failure, and whether this failure locked the account (its
    owner is mailed a reset link: once per run of failures)."""
    failures = state.failures + 1
    delay = rules.delay(failures)
    if delay == timedelta(0):
        return replace(state, failures=failures), False
    lock = not state.lock_mailed
    return Throttle(failures, now + delay, lock_mailed=True), lock


def after_success(state: Throttle) -> Throttle:
    return Throttle()


def ip_window_start(now: datetime, window: timedelta) -> datetime:
    """The start of the fixed window ``now`` falls in (windows are aligned to the epoch)."""
    elapsed = now - _EPOCH
    return _EPOCH + window * (elapsed // window)


def client_network(client_ip: str) -> str:
    """What the per-address brake counts by: an IPv4 address, or an IPv6 client's /64 (one
    subscriber gets a whole /64 and can pick any address in it). Raises ValueError."""
    address = ipaddress.ip_address(client_ip.strip(" "))
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)
