"""Password policy and hashing (argon2id with OWASP's minimum parameters).

Hashing runs where the password arrives (the client facade); only the hash is stored, and
neither ever enters a workflow.
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["WeakPassword", "check_strength", "hash_password", "verify_password"]

# OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

# A short list of what people pick first; the length rule catches most of the rest.
_COMMON = frozenset(
    {
        "password", "password1", "12345678", "123456789", "1234567890", "qwertyuiop",
        "qwerty123", "iloveyou", "11111111", "00000000", "abcd1234", "haslo123",
        "zaq12wsx", "polska123", "qwerty12", "1q2w3e4r", "1qaz2wsx", "admin123",
    }
)  # fmt: skip


class WeakPassword(ValueError):
    """The password breaks the policy; the message says how."""


def check_strength(password: str, *, login: str = "", email: str = "") -> None:
    """NIST SP 800-63B style: length and a deny list, no composition rules."""
    lowered = password.lower()
    if len(set(password)) < 3:
        raise WeakPassword("uses fewer than 3 different characters")
    if lowered in _COMMON:
        raise WeakPassword("is one of the most common passwords")
    for label, value in (("login", login), ("e-mail address", email.partition("@")[0])):
        if len(value) >= 3 and value.lower() in lowered:
            raise WeakPassword(f"must not contain your {label}")


async def hash_password(password: str) -> str:
    """argon2id hash; CPU-bound, so it runs off the event loop."""
    return await asyncio.to_thread(_HASHER.hash, password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False
