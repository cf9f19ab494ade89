"""The DSO's signed status notifications (webhooks): their JSON, signing and verification.

The DSO POSTs an incident's status (the same object ``GET /v1/incidents/{reference}`` returns)
with ``X-DSO-Signature: sha256=<hex>``, the HMAC-SHA256 of the raw body under the shared secret
(``EBOK_OPERATOR_WEBHOOK_SECRET``). Only :func:`verify_status` turns such a body into an
:class:`IncidentStatus`; anything else becomes :class:`NotificationRejected`, nothing applied.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from adapters.operator.base import (
    IncidentState,
    IncidentStatus,
    NotificationRejected,
    OperatorProtocolError,
)
from adapters.operator.wire import Fields, format_instant, json_object

__all__ = [
    "SIGNATURE_HEADER",
    "encode_notification",
    "parse_status",
    "sign",
    "status_to_json",
    "verify_status",
]

SIGNATURE_HEADER = "X-DSO-Signature"
_SCHEME = "sha256="
MAX_BODY = 64 * 1024  # a status is a few hundred bytes; refuse to parse megabytes


def sign(body: bytes, secret: str) -> str:
    """The header value for ``body``: ``sha256=`` and the hex HMAC-SHA256 under ``secret``."""
    return _SCHEME + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def status_to_json(status: IncidentStatus) -> dict[str, Any]:
    def instant(value: Any) -> str | None:
        return None if value is None else format_instant(value)

    return {
        "reference": status.reference,
        "state": status.state.value,
        "changed_at": format_instant(status.changed_at),
        "acknowledged_at": instant(status.acknowledged_at),
        "expected_restoration": instant(status.expected_restoration),
        "restored_at": instant(status.restored_at),
        "note": status.note,
    }


def parse_status(fields: Fields) -> IncidentStatus:
    """An incident status from its JSON object; :class:`OperatorProtocolError` if malformed."""
    fields.require("reference", "state", "changed_at")
    return IncidentStatus(
        reference=fields.reference(),
        state=fields.choice("state", IncidentState),
        changed_at=fields.required_instant("changed_at"),
        acknowledged_at=fields.instant("acknowledged_at", optional=True),
        expected_restoration=fields.instant("expected_restoration", optional=True),
        restored_at=fields.instant("restored_at", optional=True),
        note=fields.text("note", optional=True),
    )


def verify_status(body: bytes, headers: Mapping[str, str], secret: str) -> IncidentStatus:
    """The status in a notification whose signature is right; else :class:`NotificationRejected`.

    Header names are matched case-insensitively; the comparison is constant-time.
    """
    if not secret:
        raise NotificationRejected("no webhook secret configured (EBOK_OPERATOR_WEBHOOK_SECRET)")
    given = next(
        (value for name, value in headers.items() if name.lower() == SIGNATURE_HEADER.lower()),
        None,
    )
    if given is None:
        raise NotificationRejected(f"missing {SIGNATURE_HEADER} header")
    if len(body) > MAX_BODY:
        raise NotificationRejected("body too large")
    expected = sign(body, secret)
    # Compared as bytes: compare_digest refuses non-ASCII str, and a header may carry anything.
    if not hmac.compare_digest(given.strip().encode("utf-8", "replace"), expected.encode()):
        raise NotificationRejected("bad signature")
    try:
        return parse_status(json_object(body))
    except OperatorProtocolError as e:
        # Signed by the DSO, yet unreadable: not believed either, and not worth a retry of ours.
        raise NotificationRejected(str(e).replace("answer", "notification")) from None


def encode_notification(status: IncidentStatus, secret: str) -> tuple[bytes, dict[str, str]]:
    """The body and headers the DSO sends for ``status`` (for test doubles and the sandbox)."""
    body = json.dumps(status_to_json(status)).encode()
    return body, {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, secret)}
