"""``ebok einvoice …``: e-invoice consent from a shell, for demos and the back office."""

from __future__ import annotations

import argparse
import json

from ebok.errors import RateLimited
from ebok.models.einvoice import ConfirmOutcome
from entrypoints.cli.common import Add, Emit, Wrap, token_of, too_soon
from facade.client import EbokClient

OK, NOT_DONE = 0, 3
CHANNELS = ("web", "mobile", "staff", "paper")


def add_commands(add: Add, client: Wrap, emit: Emit) -> None:
    async def request(ebok: EbokClient, args: argparse.Namespace) -> int:
        try:
            pending = await ebok.request_einvoice(
                args.account_id, args.partner_number, args.terms_version, args.channel
            )
        except RateLimited as e:
            return too_soon(args, e)
        emit(args, pending)
        return OK

    async def confirm(ebok: EbokClient, args: argparse.Namespace) -> int:
        outcome = await ebok.confirm_einvoice(token_of(args.token))
        print(json.dumps({"outcome": outcome.value}) if args.json else outcome.value)
        return OK if outcome is ConfirmOutcome.ACTIVE else NOT_DONE

    async def resend(ebok: EbokClient, args: argparse.Namespace) -> int:
        try:
            pending = await ebok.resend_einvoice(
                args.partner_number, "staff" if args.staff else "customer"
            )
        except RateLimited as e:
            return too_soon(args, e)
        emit(args, pending)
        return OK

    async def withdraw(ebok: EbokClient, args: argparse.Namespace) -> int:
        emit(
            args,
            await ebok.withdraw_einvoice(
                args.partner_number, args.channel, args.by, args.reason or ""
            ),
        )
        return OK

    async def status(ebok: EbokClient, args: argparse.Namespace) -> int:
        emit(args, await ebok.einvoice_status(args.partner_number))
        return OK

    cmd = add(
        "einvoice-request",
        client(request),
        "ask for e-invoices for a partner linked to the account (mails a confirmation link)",
        json=True,
    )
    cmd.add_argument("account_id")
    cmd.add_argument("partner_number", help="10 digits; the account must be linked to it")
    cmd.add_argument("--terms-version", required=True, help="the e-invoice terms accepted")
    cmd.add_argument("--channel", choices=CHANNELS, default="web", help="where it was asked")
    cmd = add(
        "einvoice-confirm", client(confirm), "follow an e-invoice confirmation link", json=True
    )
    cmd.add_argument("token", help="the token from the link, or the whole link")
    cmd = add(
        "einvoice-resend", client(resend), "send a new confirmation link (old ones stop)", json=True
    )
    cmd.add_argument("partner_number")
    cmd.add_argument("--staff", action="store_true", help="on behalf of staff")
    cmd = add(
        "einvoice-withdraw",
        client(withdraw),
        "withdraw the consent: paper invoices from the next one",
        json=True,
    )
    cmd.add_argument("partner_number")
    cmd.add_argument("--channel", choices=CHANNELS, default="staff", help="where it was asked")
    cmd.add_argument("--by", default="staff", help="who withdraws (staff login, or customer)")
    cmd.add_argument("--reason", help="recorded in the workflow")
    cmd = add(
        "einvoice-status", client(status), "show where the e-invoice consent stands", json=True
    )
    cmd.add_argument("partner_number")
