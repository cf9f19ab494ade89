"""A PostalService on this machine, for development, demos and tests: nothing is printed or
posted. Letters live as JSON files under ``EBOK_POST_SANDBOX_DIR``, so the worker that posts a
letter and ``ebok post deliver|refuse|awizo|collect|return TRACKING_ID`` (another process),
which plays the postman, see the same letters.

Each simulated event gives back the notification the provider would send, signed as the http
adapter's provider signs it (``X-Post-Signature``) under ``EBOK_POST_WEBHOOK_SECRET``, or,
without it, a random key made once and kept in the folder (mode 0600).

Events follow the post's rules and are refused otherwise (:class:`SimulationError`): a posted
letter is delivered, refused or awaits collection (awizo); an awaiting one is collected within
the collection period or returned after it; a final letter never changes again.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from adapters.post.base import (
    LetterFate,
    LetterRequest,
    LetterState,
    PostRejected,
)
from adapters.post.wire import encode_notification, verify_notification
from ebok.models.post import COLLECTION_PERIOD
from ebok.settings import Settings

__all__ = ["KEY_FILE", "SandboxPost", "SimulationError", "tracking_id_for"]

KEY_FILE = "signing.key"
Notification = tuple[bytes, dict[str, str]]


class SimulationError(ValueError):
    """An event the post would never report for this letter (wrong order, wrong day)."""


def tracking_id_for(key: str) -> str:
    """Stable per key, so a retried send finds the same letter even in a fresh folder."""
    return "SBX-L-" + hashlib.sha256(key.encode()).hexdigest()[:12].upper()


def _key_of(folder: Path) -> str:
    path = folder / KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(secrets.token_hex(32))
    for _ in range(50):  # another process may be between creating and writing it
        text = path.read_text(encoding="ascii").strip()
        if text:
            return text
        time.sleep(0.01)
    raise RuntimeError(f"{path}: the sandbox signing key file is empty")


class SandboxPost:
    """The letters in ``folder``; see the module docstring."""

    def __init__(self, folder: Path, secret: str | None = None) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._secret = secret or _key_of(folder)
        self._closed = False

    @classmethod
    def from_settings(cls, settings: Settings) -> SandboxPost:
        secret = settings.post_webhook_secret
        return cls(settings.post_sandbox_dir, secret.get_secret_value() if secret else None)

    def __repr__(self) -> str:
        return f"SandboxPost({str(self.folder)!r})"

    # --- the port -----------------------------------------------------------------------------

    async def send_letter(self, request: LetterRequest) -> LetterFate:
        self._check_open()
        tracking = tracking_id_for(request.key)
        digest = hashlib.sha256(request.document).hexdigest()
        found = self._load(tracking)
        if found is not None:
            if found["document_sha256"] != digest:
                raise PostRejected("key already used for another document", 422)
            return self._fate(found)
        record = {
            "letter": {
                "key": request.key,
                "tracking_id": tracking,
                "state": LetterState.POSTED.value,
                "posted_on": (request.posted_on or datetime.now(UTC).date()).isoformat(),
                "changed_at": datetime.now(UTC).isoformat(),
            },
            "document_sha256": digest,
            "content_type": request.content_type,
            # Kept so a developer can read what was posted; the folder is the sandbox's only.
            "recipient": {
                "name": request.recipient.name,
                "street": request.recipient.street,
                "postal_code": request.recipient.postal_code,
                "city": request.recipient.city,
            },
        }
        self._save(tracking, record)
        (self.folder / f"{tracking}.document").write_bytes(request.document)
        return self._fate(record)

    async def letter_status(self, tracking_id: str) -> LetterFate:
        self._check_open()
        found = self._load(tracking_id)
        if found is None:
            raise PostRejected("no such letter", 404)
        return self._fate(found)

    async def verify_notification(self, body: bytes, headers: Mapping[str, str]) -> LetterFate:
        return verify_notification(body, headers, self._secret)

    async def aclose(self) -> None:
        self._closed = True

    # --- playing the postman -------------------------------------------------------------------

    def letters(self) -> list[LetterFate]:
        return [self._fate(json.loads(p.read_text())) for p in sorted(self.folder.glob("*.json"))]

    def document(self, tracking_id: str) -> bytes:
        return (self.folder / f"{tracking_id}.document").read_bytes()

    def deliver(self, tracking_id: str, on: date | None = None) -> Notification:
        return self._event(tracking_id, LetterState.DELIVERED, "delivered_on", on)

    def refuse(self, tracking_id: str, on: date | None = None) -> Notification:
        return self._event(tracking_id, LetterState.REFUSED, "refused_on", on)

    def awizo(self, tracking_id: str, on: date | None = None) -> Notification:
        return self._event(tracking_id, LetterState.AWAITING_COLLECTION, "notice_left_on", on)

    def collect(self, tracking_id: str, on: date | None = None) -> Notification:
        return self._event(tracking_id, LetterState.COLLECTED, "collected_on", on)

    def return_unclaimed(self, tracking_id: str, on: date | None = None) -> Notification:
        """Back to the sender; by default on the day after the collection period ends."""
        letter = self._letter(tracking_id)
        if on is None and letter.get("notice_left_on"):
            on = date.fromisoformat(letter["notice_left_on"]) + COLLECTION_PERIOD
            on = date.fromordinal(on.toordinal() + 1)
        return self._event(tracking_id, LetterState.RETURNED, "returned_on", on)

    def _letter(self, tracking_id: str) -> dict[str, Any]:
        found = self._load(tracking_id)
        if found is None:
            raise SimulationError(f"no letter {tracking_id} in {self.folder}")
        letter: dict[str, Any] = found["letter"]
        return letter

    def _event(
        self, tracking_id: str, state: LetterState, field: str, on: date | None
    ) -> Notification:
        record = self._load(tracking_id)
        if record is None:
            raise SimulationError(f"no letter {tracking_id} in {self.folder}")
        letter = record["letter"]
        now = LetterState(letter["state"])
        allowed = {
            LetterState.POSTED: {
                LetterState.DELIVERED,
                LetterState.REFUSED,
                LetterState.AWAITING_COLLECTION,
            },
            LetterState.AWAITING_COLLECTION: {LetterState.COLLECTED, LetterState.RETURNED},
        }.get(now, set())
        if state not in allowed:
            raise SimulationError(f"a {now.value} letter cannot become {state.value}")
        day = on or datetime.now(UTC).date()
        if day < date.fromisoformat(letter["posted_on"]):
            raise SimulationError(f"{field}: before the letter was posted")
        if now is LetterState.AWAITING_COLLECTION:
            end = date.fromisoformat(letter["notice_left_on"]) + COLLECTION_PERIOD
            if state is LetterState.COLLECTED and not (
                date.fromisoformat(letter["notice_left_on"]) <= day <= end
            ):
                raise SimulationError("collected_on: outside the collection period")
            if state is LetterState.RETURNED and day <= end:
                raise SimulationError("returned_on: the collection period has not run out")
        letter["state"] = state.value
        letter[field] = day.isoformat()
        letter["changed_at"] = datetime.now(UTC).isoformat()
        self._save(tracking_id, record)
        return encode_notification(self._fate(record), self._secret)

    # --- files ---------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("SandboxPost is closed")

    def _path(self, tracking_id: str) -> Path:
        if not tracking_id.startswith("SBX-L-") or not tracking_id[6:].isalnum():
            raise PostRejected("no such letter", 404)
        return self.folder / f"{tracking_id}.json"

    def _load(self, tracking_id: str) -> dict[str, Any] | None:
        path = self._path(tracking_id)
        if not path.exists():
            return None
        found: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return found

    def _save(self, tracking_id: str, record: dict[str, Any]) -> None:
        path = self._path(tracking_id)
        partial = path.with_suffix(f".{secrets.token_hex(4)}.tmp")
        partial.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
        partial.replace(path)  # atomic: a reader in another process sees old or new

    @staticmethod
    def _fate(record: dict[str, Any]) -> LetterFate:
        fields = {k: v for k, v in record["letter"].items() if v is not None}
        return LetterFate.model_validate(fields)
