"""``ebok profile …``, ``ebok email-change …``, ``ebok consent …`` and ``ebok export changes``:
the customer account's data, e-mail change and RODO consents from a shell, and billing's
hand-off of the data it owns."""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ebok.errors import InvalidInput, RateLimited
from ebok.models.email_change import ConfirmOutcome, UndoOutcome
from ebok.models.profile import ConsentPurpose
from ebok.settings import Settings
from ebok.store.db import Store
from entrypoints.cli.common import Add, Emit, Wrap, token_of, too_soon
from facade.client import EbokClient
from facade.profile import export_billing_changes

__all__ = ["add_commands"]

OK, NOT_DONE = 0, 3
CHANNELS = ("web", "mobile", "staff", "paper", "phone")
NOTIFY = ("invoices", "reminders", "outages", "planned_works")
CHANGE_COLUMNS = ("batch", "change_id", "partner_number", "field", "value", "changed_at")


def _print_json(value: Any) -> None:
    if isinstance(value, BaseModel):
        print(value.model_dump_json(indent=2))
    else:
        print(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def _notify(text: str) -> tuple[str, bool]:
    kind, _, on = text.partition("=")
    if kind not in NOTIFY or on not in ("on", "off"):
        raise argparse.ArgumentTypeError(f"use KIND=on|off, KIND one of {', '.join(NOTIFY)}")
    return kind, on == "on"


def add_commands(
    sub: Any, add: Add, client: Wrap, emit: Emit, settings: Callable[[], Settings]
) -> None:
    async def profile(ebok: EbokClient, args: argparse.Namespace) -> int:
        shown = await ebok.profile(args.account_id)
        _print_json(shown) if args.json else print(_lines(shown.model_dump()))
        return OK

    async def profile_set(ebok: EbokClient, args: argparse.Namespace) -> int:
        changes: dict[str, Any] = {}
        if args.no_phone:
            changes["phone"] = None
        elif args.phone is not None:
            changes["phone"] = args.phone
        if args.no_address:
            changes["address"] = None
        elif any(v is not None for v in (args.street, args.postal_code, args.city)):
            changes["address"] = {
                "street": args.street or "",
                "postal_code": args.postal_code or "",
                "city": args.city or "",
            }
        if args.language:
            changes["language"] = args.language
        if args.notify:  # the kinds named; the others keep their choice
            changes["notifications"] = dict(args.notify)
        shown = await ebok.update_profile(args.account_id, **changes)
        _print_json(shown) if args.json else print(_lines(shown.model_dump()))
        return OK

    async def change(ebok: EbokClient, args: argparse.Namespace) -> int:
        emit(args, await ebok.request_email_change(args.account_id, args.new_email))
        return OK

    async def confirm(ebok: EbokClient, args: argparse.Namespace) -> int:
        outcome = await ebok.confirm_email_change(token_of(args.token))
        print(json.dumps({"outcome": outcome.value}) if args.json else outcome.value)
        return OK if outcome is ConfirmOutcome.CHANGED else NOT_DONE

    async def undo(ebok: EbokClient, args: argparse.Namespace) -> int:
        outcome = await ebok.undo_email_change(token_of(args.token))
        print(json.dumps({"outcome": outcome.value}) if args.json else outcome.value)
        return OK if outcome is UndoOutcome.UNDONE else NOT_DONE

    async def resend(ebok: EbokClient, args: argparse.Namespace) -> int:
        by = "staff" if args.staff else "customer"
        try:
            emit(args, await ebok.resend_email_change(args.account_id, by))
        except RateLimited as e:
            return too_soon(args, e)
        return OK

    async def cancel(ebok: EbokClient, args: argparse.Namespace) -> int:
        emit(args, await ebok.cancel_email_change(args.account_id, args.by, args.reason or ""))
        return OK

    async def unlock(ebok: EbokClient, args: argparse.Namespace) -> int:
        emit(args, await ebok.unlock_account(args.account_id, args.staff, args.reason))
        return OK

    async def status(ebok: EbokClient, args: argparse.Namespace) -> int:
        emit(args, await ebok.email_change_status(args.account_id))
        return OK

    async def give(ebok: EbokClient, args: argparse.Namespace) -> int:
        text = None
        if args.text_file:
            try:
                text = Path(args.text_file).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as e:
                raise InvalidInput.one("text", f"cannot read {args.text_file}: {e}") from None
        state = await ebok.give_consent(
            args.account_id, args.purpose, args.version, args.channel,
            text=text, text_sha256=args.text_sha256,
        )  # fmt: skip
        emit(args, state)
        return OK

    async def withdraw(ebok: EbokClient, args: argparse.Namespace) -> int:
        emit(args, await ebok.withdraw_consent(args.account_id, args.purpose, args.channel))
        return OK

    async def consents(ebok: EbokClient, args: argparse.Namespace) -> int:
        if args.export:
            _print_json(await ebok.export_consents(args.account_id))
            return OK
        found: list[Any] = await (
            ebok.consent_history(args.account_id)
            if args.history
            else ebok.consents(args.account_id)
        )
        if args.json:
            _print_json([c.model_dump(mode="json") for c in found])
        for c in [] if args.json else found:
            print("  ".join(str(v) for v in c.model_dump(mode="json").values()))
        return OK

    def export_changes(args: argparse.Namespace) -> int:
        async def go() -> int:
            store = Store.from_settings(settings())
            try:
                batch, changes = await export_billing_changes(store, args.batch)
            finally:
                await store.aclose()
            rows = [
                {"batch": batch, "change_id": c.id, "partner_number": c.partner_number,
                 "field": c.field, "value": c.value, "changed_at": c.changed_at.isoformat()}
                for c in changes
            ]  # fmt: skip
            out = open(args.out, "a" if args.batch is None else "w", encoding="utf-8", newline="") \
                if args.out else sys.stdout  # fmt: skip
            try:
                if args.format == "json":
                    out.write(json.dumps({"batch": batch, "changes": rows}, ensure_ascii=False))
                    out.write("\n")
                elif rows:
                    writer = csv.writer(out)
                    writer.writerow(CHANGE_COLUMNS)
                    for r in rows:
                        r["value"] = json.dumps(r["value"], sort_keys=True, ensure_ascii=False)
                        writer.writerow([r[c] for c in CHANGE_COLUMNS])
            finally:
                if args.out:
                    out.close()
            print(f"{len(rows)} change(s) exported" + (f" in batch {batch}" if batch else ""),
                  file=sys.stderr)  # fmt: skip
            return OK

        return asyncio.run(go())

    cmd = add("profile", client(profile), "show the account's data", json=True)
    cmd.add_argument("account_id")
    cmd = add("profile-set", client(profile_set), "change the account's data", json=True)
    cmd.add_argument("account_id")
    cmd.add_argument("--phone", help="601 234 567, +48 22 123 45 67, ... (kept as E.164)")
    cmd.add_argument("--no-phone", action="store_true", help="remove the phone number")
    cmd.add_argument("--street", help="street, house and flat number")
    cmd.add_argument("--postal-code", help="NN-NNN")
    cmd.add_argument("--city")
    cmd.add_argument("--no-address", action="store_true", help="remove the address")
    cmd.add_argument("--language", choices=("pl", "en"), help="of the mails")
    cmd.add_argument("--notify", type=_notify, action="append", metavar="KIND=on|off",
                     help=f"which mails: {', '.join(NOTIFY)}")  # fmt: skip

    cmd = add("email-change", client(change), "mail a confirmation link to a new address",
              json=True)  # fmt: skip
    cmd.add_argument("account_id")
    cmd.add_argument("new_email")
    cmd = add("email-change-confirm", client(confirm), "follow the link sent to the new address",
              json=True)  # fmt: skip
    cmd.add_argument("token", help="the token from the link, or the whole link")
    about = "follow the undo link sent to the old address (locks the account)"
    cmd = add("email-change-undo", client(undo), about, json=True)
    cmd.add_argument("token", help="the token from the link, or the whole link")
    cmd = add("email-change-resend", client(resend), "send a new confirmation link", json=True)
    cmd.add_argument("account_id")
    cmd.add_argument("--staff", action="store_true", help="on behalf of staff")
    cmd = add("email-change-cancel", client(cancel), "drop a change not yet confirmed", json=True)
    cmd.add_argument("account_id")
    cmd.add_argument("--by", default="staff", help="who cancels (staff login, or customer)")
    cmd.add_argument("--reason")
    cmd = add("email-change-unlock", client(unlock),
              "staff: unlock an account locked by an undone e-mail change", json=True)  # fmt: skip
    cmd.add_argument("account_id")
    cmd.add_argument("--staff", required=True, help="your login")
    cmd.add_argument("--reason", required=True, help="what the review found")
    cmd = add("email-change-status", client(status), "show where an e-mail change stands",
              json=True)  # fmt: skip
    cmd.add_argument("account_id")

    purposes = [p.value for p in ConsentPurpose]
    cmd = add("consent-give", client(give), "record a RODO consent", json=True)
    cmd.add_argument("account_id")
    cmd.add_argument("purpose", choices=purposes)
    cmd.add_argument("--version", required=True, help="version of the consent text shown")
    cmd.add_argument("--channel", choices=CHANNELS, default="web")
    text = cmd.add_mutually_exclusive_group(required=True)
    text.add_argument("--text-file", help="the text shown (UTF-8); only its SHA-256 is kept")
    text.add_argument("--text-sha256", help="the SHA-256 of the text shown")
    cmd = add("consent-withdraw", client(withdraw), "withdraw a RODO consent", json=True)
    cmd.add_argument("account_id")
    cmd.add_argument("purpose", choices=purposes)
    cmd.add_argument("--channel", choices=CHANNELS, default="web")
    cmd = add("consents", client(consents), "show an account's RODO consents", json=True)
    cmd.add_argument("account_id")
    cmd.add_argument("--history", action="store_true", help="every giving and withdrawal")
    cmd.add_argument("--export", action="store_true", help="current and history as one JSON")

    about = "hand data over to other systems"
    export = sub.add_parser("export", help=about, description=about)
    what = export.add_subparsers(dest="what", required=True, metavar="WHAT")
    about = ("print the changes of billing's data (phone, address) no export has taken, as a "
             "new batch; again: nothing new")  # fmt: skip
    cmd = what.add_parser("changes", help=about, description=about)
    cmd.set_defaults(run=export_changes)
    cmd.add_argument("--format", choices=("csv", "json"), default="csv")
    cmd.add_argument("--out", help="append to this file instead of printing")
    cmd.add_argument("--batch", type=int, help="print batch N again (a lost file)")


def _lines(values: dict[str, Any]) -> str:
    width = max(map(len, values))
    return "\n".join(f"{k.ljust(width)}  {'-' if v is None else v}" for k, v in values.items())
