"""``ebok invoice …``, ``ebok import payments``, ``ebok balance`` and ``ebok paper export``:
the invoice lifecycle from a shell, for billing hand-offs, the back office and demos."""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any

from ebok.csv_rows import ImportFileError
from ebok.errors import InvalidInput
from ebok.settings import Settings
from ebok.store.db import Store
from entrypoints.cli.common import Add, Emit, Wrap
from facade.bank_statement import FORMATS
from facade.client import EbokClient

__all__ = ["add_commands"]


OK, FAILED, BAD_INPUT = 0, 1, 2
PAPER_COLUMNS = (
    "letter_id", "kind", "invoice_number", "partner_number", "partner_name", "queued_at",
    "details",
)  # fmt: skip


def _read_json(path: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise InvalidInput.one("file", f"cannot read {path}: {e.strerror or e}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InvalidInput.one("file", f"{path} is not JSON: {e}") from None
    if not isinstance(data, dict):
        raise InvalidInput.one("file", "must hold one JSON object (the invoice)")
    return data


def demo_invoice(today: date, number: str | None = None) -> dict[str, Any]:
    """The bundled demo invoice (``ebok/demo/invoice.json``: partner 1000000101, Jan Kowalski)
    issued ``today`` for last month, due in 14 days, so no reminder falls due during a demo."""
    invoice: dict[str, Any] = json.loads(
        files("ebok.demo").joinpath("invoice.json").read_text(encoding="utf-8")
    )
    last_month_end = today.replace(day=1) - timedelta(days=1)
    invoice.update(
        issue_date=today.isoformat(),
        period_from=last_month_end.replace(day=1).isoformat(),
        period_to=last_month_end.isoformat(),
        due_date=(today + timedelta(days=14)).isoformat(),
    )
    if number is not None:
        invoice["number"] = number
    return invoice


def add_commands(
    sub: Any, imports: Any, add: Add, client: Wrap, emit: Emit, settings: Callable[[], Settings]
) -> None:
    async def issue(ebok: EbokClient, args: argparse.Namespace) -> int:
        workflow_id = await ebok.issue_invoice(_read_json(args.file))
        print(json.dumps({"workflow_id": workflow_id}) if args.json else workflow_id)
        return OK

    def demo(args: argparse.Namespace) -> int:
        print(json.dumps(demo_invoice(date.today(), args.number), indent=2, ensure_ascii=False))
        return OK

    async def status(ebok: EbokClient, args: argparse.Namespace) -> int:
        emit(args, await ebok.invoice_status(args.number))
        return OK

    async def pay(ebok: EbokClient, args: argparse.Namespace) -> int:
        link = await ebok.pay_online(args.number, args.language, customer_ip=args.customer_ip)
        if args.json:
            emit(args, link)
        else:
            print(f"{link.amount} to pay for {link.number}: {link.url}")
        return OK

    async def to_book(ebok: EbokClient, args: argparse.Namespace) -> int:
        listed = await ebok.payments_to_book(args.since)
        if args.json:
            print(json.dumps([p.model_dump(mode="json") for p in listed], indent=2))
            return OK
        for p in listed:
            print(f"{p.listed_at:%Y-%m-%d %H:%M} {p.source} {p.reference} {p.amount}: {p.why}")
        return OK

    async def payments(ebok: EbokClient, args: argparse.Namespace) -> int:
        try:
            report = await ebok.import_bank_statement(args.file, args.format)
        except ImportFileError as e:
            print(f"error: {args.file}: {e}", file=sys.stderr)
            return FAILED
        if args.json:
            unmatched = [{"bank_reference": r, "why": w} for r, w in report.unmatched]
            bad = [{"line": e.line, "field": e.field, "message": e.message} for e in report.bad]
            found: dict[str, object] = {"signalled": report.signalled}
            found |= {"duplicates": report.duplicates, "unmatched": unmatched, "bad": bad}
            found["skipped"] = report.skipped
            print(json.dumps(found, indent=2))
        else:
            print(report.summary())
            for ref, why in report.unmatched:
                print(f"unmatched {ref}: {why}")
            for error in report.bad:
                print(error)
        return OK if not (report.bad or report.unmatched) else BAD_INPUT

    async def balance(ebok: EbokClient, args: argparse.Namespace) -> int:
        result = await ebok.balance(args.partner_number)
        if args.json:
            emit(args, result)
            return OK
        print(f"partner {result.partner_number}, balance on {result.on:%Y-%m-%d}")
        for a in result.accounts:
            print(f"\ncontract account {a.contract_account}: outstanding {a.outstanding}, "
                  f"overdue {a.overdue}, interest {a.interest}, credit {a.credit}")  # fmt: skip
            for i in a.open_invoices:
                late = f" OVERDUE, interest {i.interest}" if i.overdue else ""
                print(f"  invoice {i.number}  due {i.due_date:%Y-%m-%d}  {i.outstanding} of "
                      f"{i.amount_due}  ({i.state}){late}")  # fmt: skip
            for p in a.payments:
                print(f"  paid {p.amount} on {p.received_at:%Y-%m-%d} for {p.invoice_number} "
                      f"({p.source} {p.reference})")  # fmt: skip
        return OK

    def paper_export(args: argparse.Namespace) -> int:
        async def go() -> int:
            store = Store.from_settings(settings())
            try:
                async with store.begin() as uow:
                    letters = await uow.paper.take_unexported(datetime.now(UTC))
                    out = open(args.out, "w", newline="", encoding="utf-8") if args.out else None
                    try:
                        writer = csv.writer(out or sys.stdout)
                        writer.writerow(PAPER_COLUMNS)
                        for x in letters:
                            writer.writerow([x.id, x.kind, x.invoice_number, x.partner_number,
                                             x.partner_name, x.queued_at.isoformat(),
                                             json.dumps(x.details, sort_keys=True)])  # fmt: skip
                    finally:
                        if out:
                            out.close()
            finally:
                await store.aclose()
            print(f"{len(letters)} letter(s) exported", file=sys.stderr)
            return OK

        return asyncio.run(go())

    about = "the invoice lifecycle: issue an invoice from billing, or show where one stands"
    invoice = sub.add_parser("invoice", help=about, description=about)
    which = invoice.add_subparsers(dest="action", required=True, metavar="ACTION")
    out = argparse.ArgumentParser(add_help=False)
    out.add_argument("--json", action="store_true", help="print JSON instead of text")
    cmd = which.add_parser("issue", help="issue an invoice (JSON file); the same twice is one",
                           parents=[out])  # fmt: skip
    cmd.add_argument("file", help="the invoice as JSON (see IssueInvoice in the README)")
    cmd.set_defaults(run=client(issue))
    about = "print a demo invoice for partner 1000000101 dated today (for `ebok invoice issue`)"
    cmd = which.add_parser("demo", help=about, description=about)
    cmd.add_argument("--number", help="another invoice number (default FV/2026/12/000101)")
    cmd.set_defaults(run=demo)
    cmd = which.add_parser("status", help="show where an invoice stands", parents=[out])
    cmd.add_argument("number")
    cmd.set_defaults(run=client(status))

    about = "a pay-online link for what is left to pay of an open invoice"
    cmd = which.add_parser("pay", help=about, description=about, parents=[out])
    cmd.add_argument("number")
    cmd.add_argument("--language", choices=("pl", "en"), default="pl",
                     help="the provider's payment page language")  # fmt: skip
    cmd.add_argument(
        "--customer-ip",
        required=True,
        help="the address of the customer asking to pay (the provider requires it)",
    )
    cmd.set_defaults(run=client(pay))

    about = "payments no invoice could take, to be booked by hand"
    cmd = which.add_parser("unmatched", help=about, description=about, parents=[out])
    cmd.add_argument(
        "--since", type=datetime.fromisoformat, help="only those listed since (ISO date-time)"
    )
    cmd.set_defaults(run=client(to_book))

    about = "signal the transfers of a bank statement to the invoices they pay"
    cmd = imports.add_parser("payments", help=about, description=about, parents=[out])
    cmd.add_argument("file", help="bank statement: CSV (UTF-8), MT940 (ZBP) or camt.053")
    cmd.add_argument(
        "--format", choices=FORMATS, help="the statement's format (default: told from the content)"
    )
    cmd.set_defaults(run=client(payments))

    cmd = add("balance", client(balance), "a partner's balance per contract account", json=True)
    cmd.add_argument("partner_number")

    about = "print letters waiting in the paper queue (CSV) and mark them exported"
    paper = sub.add_parser("paper", help=about, description=about)
    cmd = paper.add_subparsers(dest="action", required=True, metavar="ACTION").add_parser(
        "export", help=about, description=about
    )
    cmd.add_argument("--out", help="write the CSV here instead of standard output")
    cmd.set_defaults(run=paper_export)
