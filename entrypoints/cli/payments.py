"""``ebok payments …``: play the customer of the sandbox payments adapter.

``sandbox-complete REF`` pays a sandbox payment and ``sandbox-cancel REF`` abandons it (REF is
the payment's provider ref, ``SBX…``, or our key); ``sandbox-authorize REF`` pays it as at a
provider that holds the money until the engine captures or cancels it. Each prints the signed
notification the provider sends, as JSON ``{"body": "<raw body>", "headers": {...}}``. The
body is the exact
text that was signed: hand it on byte for byte, or the signature check fails. With
``--deliver`` the command hands it on itself: it POSTs the notification to the webhook receiver
(``http://EBOK_WEBHOOK_BIND/payments/sandbox/notify``, served by ``python worker.py --dev``), as
the provider would, and prints the receiver's answer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable

import httpx

from adapters.payments.base import PaymentError
from adapters.payments.sandbox import Notification, SandboxPayments
from ebok.settings import Settings

__all__ = ["add_commands"]

OK, FAILED = 0, 1
_DELIVERY_TIMEOUT = 30.0  # the receiver answers after the invoice's workflow took the signal


def _printed(notification: Notification) -> str:
    body, headers = notification
    return json.dumps({"body": body.decode(), "headers": headers}, indent=2, ensure_ascii=False)


async def deliver(notification: Notification, url: str) -> int:
    """POST the notification as the provider does; print the receiver's answer."""
    body, headers = notification
    try:
        async with httpx.AsyncClient(timeout=_DELIVERY_TIMEOUT) as http:
            answer = await http.post(url, content=body, headers=headers)
    except httpx.HTTPError as e:
        print(
            f"error: {url}: {type(e).__name__}: {e} (is the webhook receiver running?)",
            file=sys.stderr,
        )
        return FAILED
    print(answer.text)
    if answer.status_code != 200:
        print(f"error: {url} answered {answer.status_code}", file=sys.stderr)
        return FAILED
    return OK


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    settings: Callable[[], Settings] = Settings,
) -> None:
    """Add ``payments`` and its subcommands; ``settings`` reads (and reports bad) settings."""

    def run(action: str) -> Callable[[argparse.Namespace], int]:
        def command(args: argparse.Namespace) -> int:
            s = settings()
            sandbox = SandboxPayments.from_settings(s)

            async def go() -> int:
                try:
                    moves = {
                        "complete": sandbox.complete,
                        "cancel": sandbox.cancel,
                        "authorize": sandbox.authorize,
                    }
                    notification = await moves[action](args.ref)
                    if not args.deliver:
                        print(_printed(notification))
                except PaymentError as e:
                    print(f"error: {e}", file=sys.stderr)
                    return FAILED
                finally:
                    await sandbox.aclose()
                if args.deliver:
                    url = args.to or f"http://{s.webhook_bind}/payments/sandbox/notify"
                    return await deliver(notification, url)
                return OK

            return asyncio.run(go())

        return command

    about = "the sandbox payment provider (EBOK_PAYMENTS_SANDBOX_DIR)"
    payments = subparsers.add_parser("payments", help=about, description=about)
    what = payments.add_subparsers(dest="what", required=True, metavar="WHAT")
    verbs = (
        ("complete", "pay"),
        ("cancel", "abandon"),
        ("authorize", "pay, the money held until the engine captures or cancels it,"),
    )
    for action, verb in verbs:
        about = f"{verb} a sandbox payment; print the signed notification as JSON"
        cmd = what.add_parser(f"sandbox-{action}", help=about, description=about)
        cmd.set_defaults(run=run(action))
        cmd.add_argument("ref", metavar="REF", help="the payment's provider ref (SBX…) or key")
        cmd.add_argument(
            "--deliver",
            action="store_true",
            help="POST the notification to the webhook receiver instead of printing it",
        )
        cmd.add_argument(
            "--to",
            metavar="URL",
            help="with --deliver: the receiver (default http://EBOK_WEBHOOK_BIND"
            "/payments/sandbox/notify)",
        )
