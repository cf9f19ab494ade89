"""AES-256-GCM payload codec: workflow inputs, results and state are encrypted before they
leave the process, so Temporal's history and visibility store never hold customer data in
clear text.

Each encrypted payload carries the id of the key that sealed it. Rotation is prepending a
new key to the ring: new payloads use the first key, old history stays readable as long as
its key remains somewhere in the ring.
"""

from __future__ import annotations

import base64
import dataclasses
import os
from collections.abc import Mapping, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, PayloadCodec

__all__ = [
    "ENCODING",
    "KEY_ID_METADATA",
    "AesGcmCodec",
    "PayloadDecryptionError",
    "data_converter",
    "new_key",
]

ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
_NONCE_SIZE = 12  # the size GCM is specified for; other sizes are hashed into one
_TAG_SIZE = 16


class PayloadDecryptionError(ValueError):
    """An encrypted payload could not be opened: unknown key id, or tampered/corrupt data.

    Raised instead of returning anything, so a worker fails the task (and retries after the
    operator fixes the key ring) rather than acting on garbage.
    """


class AesGcmCodec(PayloadCodec):
    """Encrypts with the first key of an ordered ``{key id: 32-byte key}`` ring, decrypts
    with any of them."""

    def __init__(self, keys: Mapping[str, bytes]) -> None:
        if not keys:
            raise ValueError("the codec needs at least one key")
        self._ciphers: dict[str, AESGCM] = {}
        for kid, key in keys.items():
            if not kid or not kid.isascii():
                raise ValueError(f"key id {kid!r} must be a non-empty ASCII string")
            if len(key) != 32:
                raise ValueError(f"key {kid!r} must be 32 bytes (AES-256), got {len(key)}")
            self._ciphers[kid] = AESGCM(key)
        self._current = next(iter(self._ciphers))

    @property
    def key_ids(self) -> list[str]:
        """The key ids in ring order; the first one encrypts."""
        return list(self._ciphers)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(p) for p in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        """Seal the whole payload, metadata included (its encoding may itself reveal data)."""
        kid = self._current
        # A random nonce per payload needs no counter to survive worker restarts; NIST's
        # limit for random 96-bit nonces (2^32 messages per key) is far beyond our volume.
        nonce = os.urandom(_NONCE_SIZE)
        # The key id is bound as associated data so rewriting it in the metadata (to force
        # a different key) fails authentication instead of silently misdecrypting.
        sealed = self._ciphers[kid].encrypt(nonce, payload.SerializeToString(), kid.encode())
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID_METADATA: kid.encode()},
            data=nonce + sealed,
        )

    def decrypt(self, payload: Payload) -> Payload:
        """Open an encrypted payload; anything else passes through unchanged, because
        history written before encryption was switched on must stay readable."""
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        raw_kid = payload.metadata.get(KEY_ID_METADATA)
        if raw_kid is None:
            raise PayloadDecryptionError("encrypted payload has no key id")
        kid = raw_kid.decode("ascii", errors="replace")
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise PayloadDecryptionError(
                f"payload was encrypted with key {kid!r}, which is not in the key ring"
            )
        if len(payload.data) < _NONCE_SIZE + _TAG_SIZE:
            raise PayloadDecryptionError(f"encrypted payload (key {kid!r}) is truncated")
        nonce, sealed = payload.data[:_NONCE_SIZE], payload.data[_NONCE_SIZE:]
        try:
            plain = cipher.decrypt(nonce, sealed, raw_kid)
        except InvalidTag:
            raise PayloadDecryptionError(
                f"encrypted payload (key {kid!r}) failed authentication: tampered or wrong key"
            ) from None
        original = Payload()
        original.ParseFromString(plain)
        return original


def data_converter(keys: Mapping[str, bytes]) -> DataConverter:
    """The project's converter (pydantic JSON), encrypted when ``keys`` is non-empty.

    Clients and workers must all use the same ring, or they cannot read each other's payloads.
    """
    if not keys:
        return pydantic_data_converter
    return dataclasses.replace(pydantic_data_converter, payload_codec=AesGcmCodec(keys))


def new_key() -> str:
    """A fresh random AES-256 key, base64-encoded as ``EBOK_CODEC_KEYS`` expects it."""
    return base64.b64encode(os.urandom(32)).decode("ascii")
