"""``ebok payments …``: play the customer of the sandbox payments adapter.

``sandbox-complete REF`` pays a sandbox payment and ``sandbox-cancel REF`` abandons it (REF is
the payment's provider ref, ``SBX…``, or our key); each prints the signed notification the
provider sends, as JSON ``{"body": "<raw body>", "headers": {...}}``. The body is the exact
text that was signed: hand it on byte for byte, or the signature check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable

from adapters.payments.base import PaymentError
from adapters.payments.sandbox import Notification, SandboxPayments
from ebok.settings import Settings

__all__ = ["add_commands"]

OK, FAILED = 0, 1


def _printed(notification: Notification) -> str:
    body, headers = notification
    return json.dumps({"body": body.decode(), "headers": headers}, indent=2, ensure_ascii=False)


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    settings: Callable[[], Settings] = Settings,
) -> None:
    """Add ``payments`` and its subcommands; ``settings`` reads (and reports bad) settings."""

    def run(action: str) -> Callable[[argparse.Namespace], int]:
        def command(args: argparse.Namespace) -> int:
            sandbox = SandboxPayments.from_settings(settings())

            async def go() -> int:
                try:
                    move = sandbox.complete if action == "complete" else sandbox.cancel
                    print(_printed(await move(args.ref)))
                except PaymentError as e:
                    print(f"error: {e}", file=sys.stderr)
                    return FAILED
                finally:
                    await sandbox.aclose()
                return OK

            return asyncio.run(go())

        return command

    about = "the sandbox payment provider (EBOK_PAYMENTS_SANDBOX_DIR)"
    payments = subparsers.add_parser("payments", help=about, description=about)
    what = payments.add_subparsers(dest="what", required=True, metavar="WHAT")
    for action, verb in (("complete", "pay"), ("cancel", "abandon")):
        about = f"{verb} a sandbox payment; print the signed notification as JSON"
        cmd = what.add_parser(f"sandbox-{action}", help=about, description=about)
        cmd.set_defaults(run=run(action))
        cmd.add_argument("ref", metavar="REF", help="the payment's provider ref (SBX…) or key")
