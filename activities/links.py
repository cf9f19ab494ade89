"""One-time links in e-mails, for every process that mails one (account activation, e-invoice
consent): issue link number N of a subject, and redeem a link once.

The token mechanics live in ``ebok/store/tokens.py``; this is the part activities share on top:
the portal URL the token goes into, and recognising a retry of a redemption that committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ebok.settings import Settings
from ebok.store.db import UnitOfWork
from ebok.store.tokens import TokenState

__all__ = ["LinkUse", "issue_link", "redeem_link"]


async def issue_link(
    uow: UnitOfWork,
    settings: Settings,
    *,
    purpose: str,
    page: str,
    subject_id: str,
    serial: int,
    issued_at: datetime,
    expires_at: datetime,
) -> str:
    """The URL of link ``serial`` (older links of the subject stop working). Issuing the same
    serial again gives the same URL, so a retried send mails an identical, working link."""
    issued = await uow.tokens.issue(
        purpose, subject_id, serial, issued_at, expires_at, settings.token_key_bytes
    )
    return settings.link(page, token=issued.token)


@dataclass(frozen=True)
class LinkUse:
    state: TokenState
    first: bool  # this call used the link; False for a retry whose first run committed


async def redeem_link(
    uow: UnitOfWork, purpose: str, token_hash: str, at: datetime, by: str, subject_id: str
) -> LinkUse:
    """Use the link at ``at`` (the workflow's time). ``by`` is the redemption's idempotency
    key: a retry of the same redemption after a commit is answered ``REDEEMED`` again, with
    ``first`` False, so the caller does not do its once-only work twice."""
    used = await uow.tokens.redeem(purpose, token_hash, at, by=by, subject_id=subject_id)
    if used.state is TokenState.ALREADY_USED and used.used_by == by:
        return LinkUse(TokenState.REDEEMED, first=False)
    return LinkUse(used.state, first=used.state is TokenState.REDEEMED)
