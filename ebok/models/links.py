"""Models every process that mails a single-use link shares (account activation, e-invoice
consent): the ``resend`` update and the answer to an update that orders a link."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["LinkPending", "Resend"]

_FROZEN = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)


class Resend(BaseModel):
    """Update ``resend``: a new link, and the old one stops working. Rate-limited (a cooldown
    after each link) and capped; staff may send one after a registration expired."""

    model_config = _FROZEN
    requested_by: Literal["customer", "staff"] = "customer"


class LinkPending(BaseModel):
    """A link was ordered: which one, until when it works, and when another may be asked for."""

    model_config = _FROZEN
    link_number: int
    expires_at: datetime
    next_resend_at: datetime | None  # None: no resends left
    resends_left: int
