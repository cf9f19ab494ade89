"""What the client facade raises. Callers catch by category::

EbokError
├── InvalidInput     bad field(s): ``errors`` maps field → message; nothing was written
├── NotFound         no such process (or its personal data was purged)
├── WrongState       the process is past the step asked for
├── RateLimited      try again at ``retry_at``
└── LimitReached     the per-process cap is used up
"""

from __future__ import annotations

from datetime import datetime

from pydantic import ValidationError

__all__ = [
    "EbokError",
    "InvalidInput",
    "LimitReached",
    "NotFound",
    "RateLimited",
    "Unavailable",
    "WrongState",
]


class EbokError(Exception):
    """Root of everything the facade raises on purpose."""


class InvalidInput(EbokError, ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{field}: {msg}" for field, msg in errors.items()))

    @classmethod
    def one(cls, field: str, message: str) -> InvalidInput:
        return cls({field: message})

    @classmethod
    def from_validation(cls, err: ValidationError) -> InvalidInput:
        """Field paths and messages only: never echo the rejected value (it may be a password)."""
        errors: dict[str, str] = {}
        for e in err.errors(include_url=False, include_input=False):
            field = ".".join(str(p) for p in e["loc"]) or "input"
            errors.setdefault(field, e["msg"])
        return cls(errors)


class NotFound(EbokError, LookupError):
    pass


class WrongState(EbokError):
    pass


class RateLimited(EbokError):
    def __init__(self, message: str, retry_at: datetime) -> None:
        super().__init__(message)
        self.retry_at = retry_at


class LimitReached(EbokError):
    pass


class Unavailable(EbokError):
    """A service the answer needs (the payment provider) cannot be reached now; try later."""
