"""Following a one-time link from an e-mail, for every process that mails one: the token's
shape, its SHA-256 (the only form that leaves this module) and whose link it is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from ebok.store.db import Store
from ebok.store.tokens import TokenState, hash_token

__all__ = ["FollowedLink", "follow", "state_after_close"]

_TOKEN_DIGITS = frozenset("0123456789abcdef")  # tokens are 64 hex digits (store/tokens.py)


@dataclass(frozen=True)
class FollowedLink:
    token_hash: str
    subject_id: str


async def follow(store: Store, purpose: str, token: str) -> FollowedLink | None:
    """The link's subject, or None for anything malformed, unknown or of another purpose."""
    if len(token) != 64 or not set(token) <= _TOKEN_DIGITS:
        return None
    token_hash = hash_token(token)
    async with store.begin() as uow:
        subject_id = await uow.tokens.subject_of(purpose, token_hash)
    return FollowedLink(token_hash, subject_id) if subject_id is not None else None


async def state_after_close(
    store: Store, purpose: str, token_hash: str, closed_at: datetime | None = None
) -> TokenState:
    """Why a link whose process has finished does nothing now: used, expired or invalid.
    ``closed_at`` (the run's close, on the workflow's clock) counts as "now" if later, so the
    answer agrees with the workflow that closed on the link's expiry."""
    at = max(datetime.now(UTC), closed_at) if closed_at else datetime.now(UTC)
    async with store.begin() as uow:
        state = await uow.tokens.state_of(purpose, token_hash, at)
    return state.state
