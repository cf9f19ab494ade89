"""API keys of the services that call the HTTP API: made, listed, revoked, and checked.

A key is 256 random bits, shown once when made; the store keeps its SHA-256 (a slow hash buys
nothing for a key no one could guess). Each key carries scopes, one per process family, and a
service has at most two keys in force, so a new key can be rolled out before the old is revoked.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from ebok.errors import InvalidInput, LimitReached, NotFound
from ebok.store.api_keys import ApiKey
from ebok.store.db import Store

__all__ = ["KEYS_PER_SERVICE", "SCOPES", "ApiKey", "ApiKeys", "NewApiKey", "key_hash"]

SCOPES = frozenset(
    {
        "registration",
        "linking",
        "einvoice",
        "invoices",
        "payments",
        "outages",
        "account",
        "billing",
        "staff",
    }
)
KEYS_PER_SERVICE = 2
_PREFIX = "ebok_"  # makes a leaked key recognisable to secret scanners and in logs
_SERVICE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


@dataclass(frozen=True)
class NewApiKey:
    key: ApiKey
    secret: str  # shown once; only its hash is kept


def key_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _scopes(scopes: list[str]) -> frozenset[str]:
    chosen = frozenset(s.strip() for s in scopes if s.strip())
    if not chosen:
        raise InvalidInput.one("scopes", "name at least one scope")
    unknown = chosen - SCOPES
    if unknown:
        raise InvalidInput.one(
            "scopes",
            f"unknown scope(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(SCOPES))}",
        )
    return chosen


class ApiKeys:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def create(self, service: str, scopes: list[str]) -> NewApiKey:
        if not _SERVICE.fullmatch(service):
            raise InvalidInput.one(
                "service", "use 1-64 lower-case letters, digits and '-', starting with either"
            )
        chosen = _scopes(scopes)
        secret = _PREFIX + secrets.token_urlsafe(32)
        key = ApiKey(
            id=secrets.token_hex(8),
            service=service,
            scopes=chosen,
            created_at=datetime.now(UTC),
            revoked_at=None,
        )
        # Written first, then counted (in a statement of its own, after the lock): of rival
        # calls, the later ones count the earlier keys, and a refused call's key rolls back.
        async with self.store.begin() as uow:
            await uow.api_keys.add(key.id, service, chosen, key_hash(secret), key.created_at)
            await uow.api_keys.lock_service(service)
            if await uow.api_keys.count_in_force(service) > KEYS_PER_SERVICE:
                raise LimitReached(
                    f"{service} has {KEYS_PER_SERVICE} keys in force; revoke one first"
                )
        return NewApiKey(key=key, secret=secret)

    async def list(self) -> list[ApiKey]:
        async with self.store.begin() as uow:
            return await uow.api_keys.all()

    async def revoke(self, key_id: str) -> None:
        async with self.store.begin() as uow:
            if not await uow.api_keys.revoke(key_id, datetime.now(UTC)):
                raise NotFound("no such API key in force")

    async def check(self, secret: str) -> ApiKey | None:
        """The key in force that ``secret`` is, or None (unknown, malformed or revoked)."""
        if not secret.startswith(_PREFIX) or len(secret) > 128:
            return None
        async with self.store.begin() as uow:
            return await uow.api_keys.in_force(key_hash(secret))
