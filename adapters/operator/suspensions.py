"""Suspension requests as the simulated DSO keeps them, and their form in its state file."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from adapters.operator.base import SuspensionAnswer, SuspensionRequest

__all__ = ["FiledSuspension", "suspension_from_json", "suspension_reference", "suspension_to_json"]


@dataclass
class FiledSuspension:
    """A suspension request as the DSO keeps it; ``withdrawn_at`` is set once withdrawn."""

    reference: str
    request: SuspensionRequest
    accepted: bool
    filed_at: datetime
    withdrawn_at: datetime | None = None

    @property
    def answer(self) -> SuspensionAnswer:
        return SuspensionAnswer(self.reference, self.request.key, self.accepted)


def suspension_reference(key: str) -> str:
    """Stable per key, so even a DSO restarted from nothing gives a retry the same reference."""
    return f"SBX-S-{hashlib.sha256(key.encode()).hexdigest()[:12].upper()}"


def suspension_to_json(filed: FiledSuspension) -> dict[str, Any]:
    request = filed.request
    return {
        "reference": filed.reference,
        "key": request.key,
        "ppe": request.ppe,
        "invoice_number": request.invoice_number,
        "notice_served_at": request.notice_served_at.isoformat(),
        "not_before": request.not_before.isoformat(),
        "accepted": filed.accepted,
        "filed_at": filed.filed_at.isoformat(),
        "withdrawn_at": filed.withdrawn_at.isoformat() if filed.withdrawn_at else None,
    }


def suspension_from_json(data: dict[str, Any]) -> FiledSuspension:
    request = SuspensionRequest(
        key=data["key"],
        ppe=data["ppe"],
        invoice_number=data["invoice_number"],
        notice_served_at=datetime.fromisoformat(data["notice_served_at"]),
        not_before=datetime.fromisoformat(data["not_before"]),
    )
    withdrawn = data["withdrawn_at"]
    return FiledSuspension(
        data["reference"],
        request,
        data["accepted"],
        datetime.fromisoformat(data["filed_at"]),
        datetime.fromisoformat(withdrawn) if withdrawn else None,
    )
