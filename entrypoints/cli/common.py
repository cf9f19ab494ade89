"""What the ``ebok`` command's process modules (einvoice, linking, ...) share: the shapes of
the hooks ``main`` hands them, and the answers every process gives alike."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel

from ebok.errors import RateLimited
from facade.client import EbokClient

__all__ = ["RATE_LIMITED", "Add", "ClientCommand", "Emit", "Wrap", "too_soon", "token_of"]

ClientCommand = Callable[[EbokClient, argparse.Namespace], Awaitable[int]]
Add = Callable[..., argparse.ArgumentParser]
Wrap = Callable[[ClientCommand], Callable[[argparse.Namespace], int]]
Emit = Callable[[argparse.Namespace, BaseModel], None]

RATE_LIMITED = 4  # exit code: too soon, or locked out; the message says until when


def token_of(arg: str) -> str:
    """The token, given bare or as the whole link copied from the mail."""
    if "://" in arg:
        return parse_qs(urlsplit(arg).query).get("token", [""])[0]
    return arg


def too_soon(args: argparse.Namespace, e: RateLimited, error: str = "rate_limited") -> int:
    """Say when to try again (JSON on stdout with ``--json``, a line on stderr) and exit 4."""
    if args.json:
        print(json.dumps({"error": error, "retry_at": e.retry_at.isoformat()}))
    at = e.retry_at.astimezone(UTC).isoformat(timespec="seconds")
    wait = max(0, round((e.retry_at - datetime.now(UTC)).total_seconds()))
    print(f"error: {e}; retry at {at} (in {wait} s)", file=sys.stderr)
    return RATE_LIMITED
