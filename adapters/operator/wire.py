"""Reading and writing the DSO API's wire format (PROTOCOL.md): status codes, JSON, instants.

Shared by the http adapter's calls and its webhook verification, so every answer is judged by
the same rules: whatever the DSO sends that breaks the protocol becomes an
:class:`OperatorProtocolError` naming the problem, never a crash and never a business answer.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

import httpx

from adapters.http_answers import retry_after
from adapters.operator.base import OperatorProtocolError, OperatorRejected, OperatorUnavailable

__all__ = [
    "MAX_MESSAGE",
    "TRANSIENT_4XX",
    "Fields",
    "error_for",
    "format_instant",
    "json_object",
    "malformed",
]

# Statuses that say "not now" rather than "never": the request was fine, the moment was not.
TRANSIENT_4XX = frozenset({408, 409, 425, 429})
MAX_MESSAGE = 200  # of a server's error text quoted in an exception

E = TypeVar("E", bound=StrEnum)


def malformed(problem: str) -> OperatorProtocolError:
    return OperatorProtocolError(f"DSO sent a malformed answer: {problem}")


def server_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ("message", "error", "detail"):
            if isinstance(body.get(key), str):
                return str(body[key])[:MAX_MESSAGE]
    return response.text.strip()[:MAX_MESSAGE] or response.reason_phrase


def error_for(response: httpx.Response) -> Exception:
    """The port's exception for a status that is not one of the call's success statuses."""
    status = response.status_code
    if status >= 500 or status in TRANSIENT_4XX:
        return OperatorUnavailable(
            f"DSO answered {status}: {server_message(response)}", retry_after(response)
        )
    if 400 <= status < 500:
        return OperatorRejected(f"DSO answered {status}: {server_message(response)}", status)
    return OperatorProtocolError(f"DSO answered with unexpected status {status}")


def format_instant(moment: datetime) -> str:
    """An aware datetime as ISO 8601 in UTC with a ``Z``: ``2026-03-01T10:00:00Z``."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("instants sent to the DSO must be timezone-aware")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def json_object(raw: bytes) -> Fields:
    """The JSON object in ``raw``, or :func:`malformed`."""
    try:
        body: Any = json.loads(raw)
    except ValueError:  # UnicodeDecodeError included
        raise malformed("not JSON") from None
    except RecursionError:
        raise malformed("nested too deeply") from None
    if not isinstance(body, dict):
        raise malformed("not a JSON object")
    return Fields(body)


class Fields:
    """Typed access to a JSON object's fields; each getter raises :func:`malformed` naming the
    field when it is missing or of the wrong kind."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body

    def require(self, *names: str) -> None:
        missing = [name for name in names if name not in self.body]
        if missing:
            raise malformed(f"missing {', '.join(missing)}")

    def text(self, name: str, *, optional: bool = False) -> str:
        value = self.body.get(name)
        if value is None and optional:
            return ""
        if not isinstance(value, str):
            raise malformed(f"{name} is not a string")
        return value

    def reference(self, name: str = "reference") -> str:
        value = self.text(name).strip()
        if not value:
            raise malformed(f"{name} must not be empty")
        return value

    def flag(self, name: str) -> bool:
        value = self.body.get(name)
        if not isinstance(value, bool):
            raise malformed(f"{name} is not true or false")
        return value

    def choice(self, name: str, choices: type[E]) -> E:
        value = self.body.get(name)
        if not isinstance(value, str) or value not in {c.value for c in choices}:
            raise malformed(f"unknown {name}")
        return choices(value)

    def instant(self, name: str, *, optional: bool = False) -> datetime | None:
        value = self.body.get(name)
        if value is None:
            if optional:
                return None
            raise malformed(f"missing {name}")
        if not isinstance(value, str):
            raise malformed(f"{name} is not an ISO 8601 string")
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise malformed(f"{name} is not an ISO 8601 instant") from None
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise malformed(f"{name} has no time zone")
        try:
            return moment.astimezone(UTC)
        except OverflowError:  # e.g. year 1 at +01:00
            raise malformed(f"{name} is out of range") from None

    def required_instant(self, name: str) -> datetime:
        moment = self.instant(name)
        assert moment is not None  # instant() raises for a missing required one
        return moment
