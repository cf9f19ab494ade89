"""What every HTTP adapter (payment provider, grid operator) reads the same way from an answer."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

__all__ = ["retry_after"]


def retry_after(response: httpx.Response) -> float | None:
    """The ``Retry-After`` hint in seconds (delay-seconds or an HTTP date), never negative."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None  # a hint we cannot read is no hint; the caller's back-off applies
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
