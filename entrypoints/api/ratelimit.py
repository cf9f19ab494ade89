"""A token bucket per calling service: over its rate, a request is answered 429 with
Retry-After. Kept in the process: each API process limits on its own, so the limit a service
meets is the setting times the number of processes behind the balancer."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

__all__ = ["RateLimits"]


class RateLimits:
    def __init__(
        self, per_second: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.per_second, self.burst, self._clock = per_second, burst, clock
        self._buckets: dict[str, tuple[float, float]] = {}  # service → (tokens, when)

    def take(self, service: str) -> int | None:
        """None if the service may go on; else the whole seconds until it may."""
        now = self._clock()
        tokens, then = self._buckets.get(service, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - then) * self.per_second)
        if tokens < 1.0:
            self._buckets[service] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / self.per_second))
        self._buckets[service] = (tokens - 1.0, now)
        return None
