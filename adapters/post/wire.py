"""The hybrid-mail API's wire format (PROTOCOL.md): a letter's JSON, its signed notifications,
and how answers map onto the port's errors. Shared by the http adapter, the sandbox (which
signs its notifications the same way) and the local test server."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import httpx
from pydantic import ValidationError

from adapters.http_answers import retry_after
from adapters.post.base import (
    LetterFate,
    LetterState,
    NotificationRejected,
    PostProtocolError,
    PostRejected,
    PostUnavailable,
)

__all__ = [
    "SIGNATURE_HEADER",
    "encode_notification",
    "error_for",
    "fate_from_json",
    "fate_to_json",
    "sign",
    "verify_notification",
]

SIGNATURE_HEADER = "X-Post-Signature"
_SCHEME = "sha256="
MAX_BODY = 64 * 1024
TRANSIENT_4XX = frozenset({408, 409, 425, 429})
_DAYS = ("posted_on", "delivered_on", "refused_on", "notice_left_on", "collected_on", "returned_on")


def fate_to_json(fate: LetterFate) -> dict[str, Any]:
    out: dict[str, Any] = {"key": fate.key, "tracking_id": fate.tracking_id}
    out["state"] = fate.state.value
    for name in _DAYS:
        day = getattr(fate, name)
        out[name] = day.isoformat() if day else None
    changed = fate.changed_at
    out["changed_at"] = (
        changed.astimezone(UTC).isoformat().replace("+00:00", "Z") if changed else None
    )
    return out


def fate_from_json(raw: bytes) -> LetterFate:
    """A letter from its JSON; PostProtocolError naming the problem if it breaks the protocol."""
    try:
        body: Any = json.loads(raw)
    except (ValueError, RecursionError):
        raise PostProtocolError("provider sent a malformed answer: not JSON") from None
    if not isinstance(body, dict):
        raise PostProtocolError("provider sent a malformed answer: not a JSON object")
    missing = [n for n in ("key", "tracking_id", "state", "posted_on") if n not in body]
    if missing:
        raise PostProtocolError(f"provider sent a malformed answer: missing {', '.join(missing)}")
    state = body.get("state")
    if state not in {s.value for s in LetterState}:
        raise PostProtocolError("provider sent a malformed answer: unknown state")
    values: dict[str, Any] = {"state": LetterState(state)}
    for name in ("key", "tracking_id"):
        if not isinstance(body[name], str) or not body[name].strip():
            raise PostProtocolError(f"provider sent a malformed answer: {name} is not a string")
        values[name] = body[name].strip()
    for name in _DAYS:
        values[name] = _day(body, name)
    changed = body.get("changed_at")
    if changed is not None:
        values["changed_at"] = _instant(changed)
    try:
        return LetterFate(**values)
    except ValidationError as e:
        problem = e.errors()[0].get("msg", "inconsistent") if e.errors() else "inconsistent"
        raise PostProtocolError(f"provider sent a malformed answer: {problem}") from None


def _day(body: dict[str, Any], name: str) -> date | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise PostProtocolError(f"provider sent a malformed answer: {name} is not a date")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PostProtocolError(f"provider sent a malformed answer: {name} is not a date") from None


def _instant(value: Any) -> datetime:
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise PostProtocolError("provider sent a malformed answer: changed_at is no instant")
    return moment.astimezone(UTC)


def error_for(response: httpx.Response) -> Exception:
    """The port's exception for a status that is not the call's success status."""
    status = response.status_code
    try:
        found = response.json()
        message = str(found.get("message", ""))[:200] if isinstance(found, dict) else ""
    except ValueError:
        message = response.text.strip()[:200]
    message = message or response.reason_phrase
    if status >= 500 or status in TRANSIENT_4XX:
        return PostUnavailable(f"provider answered {status}: {message}", retry_after(response))
    if 400 <= status < 500:
        return PostRejected(f"provider answered {status}: {message}", status)
    return PostProtocolError(f"provider answered with unexpected status {status}")


def sign(body: bytes, secret: str) -> str:
    return _SCHEME + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def encode_notification(fate: LetterFate, secret: str) -> tuple[bytes, dict[str, str]]:
    """The body and headers the provider sends about ``fate``."""
    body = json.dumps(fate_to_json(fate)).encode()
    return body, {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, secret)}


def verify_notification(body: bytes, headers: Mapping[str, str], secret: str) -> LetterFate:
    """The letter in a notification whose signature is right; else NotificationRejected."""
    if not secret:
        raise NotificationRejected("no webhook secret configured (EBOK_POST_WEBHOOK_SECRET)")
    given = next((v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER.lower()), None)
    if given is None:
        raise NotificationRejected(f"missing {SIGNATURE_HEADER} header")
    if len(body) > MAX_BODY:
        raise NotificationRejected("body too large")
    expected = sign(body, secret)
    if not hmac.compare_digest(given.strip().encode("utf-8", "replace"), expected.encode()):
        raise NotificationRejected("bad signature")
    try:
        return fate_from_json(body)
    except PostProtocolError as e:
        raise NotificationRejected(str(e).replace("answer", "notification")) from None
