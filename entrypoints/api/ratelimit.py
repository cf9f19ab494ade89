"""Token buckets: one per calling service, and one per customer's network for the endpoints a
customer's action reaches (sign-up, activation, sign-in, outage report). Over its rate, a
request is answered 429 with Retry-After. Kept in the process: each API process limits on its
own, so the limit a caller meets is the setting times the number of processes behind the
balancer."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from ipaddress import IPv4Address, IPv6Address, IPv6Network

__all__ = ["RateLimits", "network_of"]


# Buckets kept before the full ones are forgotten (a full bucket is the same as none): bounds
# the memory that requests from many addresses can take.
MAX_BUCKETS = 100_000


class RateLimits:
    def __init__(
        self,
        per_second: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        max_buckets: int = MAX_BUCKETS,
    ) -> None:
        self.per_second, self.burst, self._clock = per_second, burst, clock
        self._max_buckets = max_buckets
        self._buckets: dict[str, tuple[float, float]] = {}  # key → (tokens, when)

    def take(self, service: str) -> int | None:
        """None if the key (a service, a network) may go on; else the whole seconds until it
        may."""
        now = self._clock()
        if len(self._buckets) >= self._max_buckets:
            self._forget_full(now)
        tokens, then = self._buckets.get(service, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - then) * self.per_second)
        if tokens < 1.0:
            self._buckets[service] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / self.per_second))
        self._buckets[service] = (tokens - 1.0, now)
        return None

    def _forget_full(self, now: float) -> None:
        refill = self.burst / self.per_second
        self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < refill}


def network_of(address: IPv4Address | IPv6Address) -> str:
    """The key of a customer's address: the address itself for IPv4, its /64 for IPv6, as a
    household or a phone gets a whole /64 and could otherwise take a new address per request."""
    if isinstance(address, IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(IPv6Network((address, 64), strict=False))
    return str(address)
