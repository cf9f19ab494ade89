"""``ebok sign-in``, ``ebok session-valid``, ``ebok password-reset …``: the customer account
from a shell, for demos and the back office. Passwords are read from the terminal (or one
line of stdin with ``--password-stdin``), never from an argument."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Protocol

from ebok.errors import RateLimited
from ebok.models.password_reset import ResetOutcome
from ebok.models.sign_in import SignInOutcome
from entrypoints.cli.common import RATE_LIMITED, Add, ClientCommand, Emit, token_of, too_soon
from facade.client import EbokClient

OK, NOT_DONE = 0, 3


class Wrap(Protocol):
    def __call__(
        self, fn: ClientCommand, *, password: bool = False, repeat: bool = True
    ) -> Callable[[argparse.Namespace], int]: ...


def add_commands(add: Add, client: Wrap, emit: Emit) -> None:
    async def sign_in(ebok: EbokClient, args: argparse.Namespace) -> int:
        answer = await ebok.sign_in(args.login_or_email, args.password, args.client_ip)
        emit(args, answer)
        if answer.outcome is SignInOutcome.SIGNED_IN:
            return OK
        return RATE_LIMITED if answer.outcome is SignInOutcome.THROTTLED else NOT_DONE

    async def session_valid(ebok: EbokClient, args: argparse.Namespace) -> int:
        valid = await ebok.session_valid(args.account_id, args.generation)
        print(json.dumps({"valid": valid}) if args.json else str(valid).lower())
        return OK if valid else NOT_DONE

    async def request(ebok: EbokClient, args: argparse.Namespace) -> int:
        await ebok.request_password_reset(args.email)
        print(json.dumps({"status": "accepted"}) if args.json else "accepted")
        return OK

    async def start(ebok: EbokClient, args: argparse.Namespace) -> int:
        try:
            emit(args, await ebok.start_password_reset(args.account_id))
        except RateLimited as e:
            return too_soon(args, e)
        return OK

    async def resend(ebok: EbokClient, args: argparse.Namespace) -> int:
        try:
            pending = await ebok.resend_password_reset(
                args.account_id, "staff" if args.staff else "customer"
            )
        except RateLimited as e:
            return too_soon(args, e)
        emit(args, pending)
        return OK

    async def confirm(ebok: EbokClient, args: argparse.Namespace) -> int:
        outcome = await ebok.confirm_password_reset(token_of(args.token), args.password)
        print(json.dumps({"outcome": outcome.value}) if args.json else outcome.value)
        return OK if outcome is ResetOutcome.CHANGED else NOT_DONE

    async def status(ebok: EbokClient, args: argparse.Namespace) -> int:
        emit(args, await ebok.password_reset_status(args.account_id))
        return OK

    stdin_help = (
        "read the password as one line of stdin instead of asking at the terminal"
        " (never an argument: it would stay in shell history and show in ps)"
    )
    cmd = add(
        "sign-in",
        client(sign_in, password=True, repeat=False),
        "check a login (or e-mail address) and password as the portal would; exit 3 refused,"
        " 4 throttled",
        json=True,
    )
    cmd.add_argument("login_or_email")
    cmd.add_argument("--client-ip", required=True, help="the customer's IP address")
    cmd.add_argument("--password-stdin", action="store_true", help=stdin_help)
    cmd = add(
        "session-valid",
        client(session_valid),
        "is a session of this credential generation still valid (exit 3: no)",
        json=True,
    )
    cmd.add_argument("account_id")
    cmd.add_argument("generation", type=int)
    cmd = add(
        "password-reset",
        client(request),
        "mail a reset link to the account of this address (the same answer for any address)",
        json=True,
    )
    cmd.add_argument("email")
    cmd = add(
        "password-reset-start",
        client(start),
        "staff: mail the account a reset link now",
        json=True,
    )
    cmd.add_argument("account_id")
    cmd = add(
        "password-reset-resend",
        client(resend),
        "send a new reset link (the old one stops working)",
        json=True,
    )
    cmd.add_argument("account_id")
    cmd.add_argument("--staff", action="store_true", help="on behalf of staff")
    cmd = add(
        "password-reset-confirm",
        client(confirm, password=True),
        "follow a reset link with the new password (asked twice); exit 3 if not changed",
        json=True,
    )
    cmd.add_argument("token", help="the token from the link, or the whole link")
    cmd.add_argument("--password-stdin", action="store_true", help=stdin_help)
    cmd = add(
        "password-reset-status", client(status), "show where a password reset stands", json=True
    )
    cmd.add_argument("account_id")
