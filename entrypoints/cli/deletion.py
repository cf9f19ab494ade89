"""``ebok account-delete …`` and ``ebok account-export``: account deletion and the data
export (GDPR art. 17, 15 and 20) from a shell, for demos and the back office."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ebok.errors import RateLimited
from ebok.models.deletion import ConfirmOutcome
from entrypoints.cli.common import Add, Emit, Wrap, token_of, too_soon
from facade.client import EbokClient

OK, NOT_DONE = 0, 3
CHANNELS = ("web", "mobile", "staff")


def add_commands(add: Add, client: Wrap, emit: Emit) -> None:
    async def request(ebok: EbokClient, args: argparse.Namespace) -> int:
        try:
            pending = await ebok.request_deletion(args.account_id, args.channel)
        except RateLimited as e:
            return too_soon(args, e)
        emit(args, pending)
        return OK

    async def confirm(ebok: EbokClient, args: argparse.Namespace) -> int:
        answer = await ebok.confirm_deletion(token_of(args.token))
        if args.json:
            print(answer.model_dump_json())
        else:
            erase_at = f" (erased {answer.erase_at.isoformat()})" if answer.erase_at else ""
            print(answer.outcome.value + erase_at)
        return OK if answer.outcome is ConfirmOutcome.SCHEDULED else NOT_DONE

    async def resend(ebok: EbokClient, args: argparse.Namespace) -> int:
        try:
            pending = await ebok.resend_deletion(
                args.account_id, "staff" if args.staff else "customer"
            )
        except RateLimited as e:
            return too_soon(args, e)
        emit(args, pending)
        return OK

    async def cancel(ebok: EbokClient, args: argparse.Namespace) -> int:
        by = "staff" if args.staff else "customer"
        emit(args, await ebok.cancel_deletion(args.account_id, by, args.staff or "", args.reason))
        return OK

    async def status(ebok: EbokClient, args: argparse.Namespace) -> int:
        emit(args, await ebok.deletion_status(args.account_id))
        return OK

    async def export(ebok: EbokClient, args: argparse.Namespace) -> int:
        exported = await ebok.export_account_data(args.account_id)
        text = json.dumps(exported.model_dump(mode="json"), ensure_ascii=False, indent=2)
        if args.out:
            Path(args.out).write_text(text + "\n", encoding="utf-8")
        else:
            print(text)
        return OK

    cmd = add(
        "account-delete",
        client(request),
        "ask to delete an account (mails a confirmation link; erased after the cooling-off)",
        json=True,
    )
    cmd.add_argument("account_id")
    cmd.add_argument("--channel", choices=CHANNELS, default="web", help="where it was asked")
    cmd = add(
        "account-delete-confirm",
        client(confirm),
        "follow an account deletion's confirmation link",
        json=True,
    )
    cmd.add_argument("token", help="the token from the link, or the whole link")
    cmd = add(
        "account-delete-resend",
        client(resend),
        "send a new deletion confirmation link (old ones stop)",
        json=True,
    )
    cmd.add_argument("account_id")
    cmd.add_argument("--staff", action="store_true", help="on behalf of staff")
    cmd = add(
        "account-delete-cancel",
        client(cancel),
        "stop an account deletion before the erasure (nothing is erased)",
        json=True,
    )
    cmd.add_argument("account_id")
    cmd.add_argument("--staff", metavar="LOGIN", help="stopped by staff: their login")
    cmd.add_argument("--reason", default="", help="recorded in the workflow")
    cmd = add(
        "account-delete-status",
        client(status),
        "show where an account deletion stands",
        json=True,
    )
    cmd.add_argument("account_id")
    cmd = add(
        "account-export",
        client(export),
        "print everything the store holds about an account as JSON (GDPR art. 15/20)",
    )
    cmd.add_argument("account_id")
    cmd.add_argument("--out", help="write to this file instead of stdout")
