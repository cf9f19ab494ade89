"""``ebok post …``: play the postman of the sandbox post, as ``ebok dso …`` plays the DSO.

``list`` shows the sandbox's registered letters; ``deliver``, ``refuse``, ``awizo``, ``collect``
and ``return`` TRACKING_ID report that event for the letter (``--on YYYY-MM-DD``, default
today; ``return`` defaults to the day after the awizo's 14 days). Each event's signed
notification is POSTed to the webhook receiver (``http://EBOK_WEBHOOK_BIND/post/letters``,
served by ``python worker.py --dev``), as the provider would; ``--print`` prints it instead.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from datetime import date

from adapters.post.sandbox import SandboxPost, SimulationError
from adapters.post.wire import fate_to_json
from ebok.settings import Settings
from entrypoints.cli.payments import deliver

__all__ = ["add_commands"]

OK, FAILED, BAD_INPUT = 0, 1, 2


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError("use a date like 2026-12-08") from None


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    settings: Callable[[], Settings] = Settings,
) -> None:
    post = subparsers.add_parser("post", help="play the sandbox post (registered letters)")
    sub = post.add_subparsers(dest="post_command", required=True)

    def listed(args: argparse.Namespace) -> int:
        sandbox = SandboxPost.from_settings(settings())
        for fate in sandbox.letters():
            print(json.dumps(fate_to_json(fate), ensure_ascii=False))
        return OK

    sub.add_parser("list", help="the sandbox's letters, one JSON line each").set_defaults(
        run=listed
    )

    def event(name: str) -> Callable[[argparse.Namespace], int]:
        def command(args: argparse.Namespace) -> int:
            s = settings()
            sandbox = SandboxPost.from_settings(s)
            moves = {
                "deliver": sandbox.deliver,
                "refuse": sandbox.refuse,
                "awizo": sandbox.awizo,
                "collect": sandbox.collect,
                "return": sandbox.return_unclaimed,
            }
            try:
                notification = moves[name](args.tracking_id, args.on)
            except SimulationError as e:
                print(f"error: {e}", file=sys.stderr)
                return BAD_INPUT
            if args.print:
                body, headers = notification
                print(json.dumps({"body": body.decode(), "headers": headers}, indent=2))
                return OK
            return asyncio.run(deliver(notification, f"http://{s.webhook_bind}/post/letters"))

        return command

    helps = {
        "deliver": "the letter was handed to the addressee",
        "refuse": "the addressee refused it (counts as received)",
        "awizo": "nobody home: notice of attempted delivery left",
        "collect": "collected at the post office after the awizo",
        "return": "not collected within 14 days: back to the sender",
    }
    for name, text in helps.items():
        p = sub.add_parser(name, help=text)
        p.add_argument("tracking_id")
        p.add_argument("--on", type=_day, default=None, help="the event's day (YYYY-MM-DD)")
        p.add_argument("--print", action="store_true", help="print the notification, send none")
        p.set_defaults(run=event(name))
