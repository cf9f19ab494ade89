"""One-time links in e-mails, for every process that mails one (account activation, e-invoice
consent): issue link number N of a subject, and redeem a link once.

The token mechanics live in ``ebok/store/tokens.py``; this is the part activities share on top:
the portal URL the token goes into, and recognising a retry of a redemption that committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

from activities.mail import MailComposer
from adapters.email.base import EmailSender
from ebok.settings import Settings
from ebok.store.db import Store, UnitOfWork
from ebok.store.tokens import TokenState

__all__ = ["LinkMailing", "LinkUse", "issue_link", "outcomes", "redeem_link"]

Outcome = TypeVar("Outcome", bound=StrEnum)


class LinkMailing:
    """Base of a process's activities that mail single-use links: what they work with."""

    def __init__(
        self, store: Store, email: EmailSender, composer: MailComposer, settings: Settings
    ) -> None:
        self._store, self._email, self._composer, self._settings = store, email, composer, settings


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


def outcomes(used: Outcome) -> dict[TokenState, Outcome]:
    """A process's answer for each end of a redemption: ``used`` when this call used the link,
    and the process's outcome of the same value for the others (expired, invalid, already_used)."""
    answers: dict[TokenState, Outcome] = {TokenState.REDEEMED: used}
    for state in (TokenState.EXPIRED, TokenState.INVALID, TokenState.ALREADY_USED):
        answers[state] = type(used)(state.value)
    return answers


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
