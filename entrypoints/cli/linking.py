"""``ebok link …``: partner linking from a shell, for demos and the back office."""

from __future__ import annotations

import argparse
from typing import Any

from ebok.errors import RateLimited
from ebok.models.linking import Outcome
from entrypoints.cli.common import Add, Emit, Wrap, too_soon
from facade.client import EbokClient

OK, NOT_DONE = 0, 3


def add_commands(add: Add, client: Wrap, emit: Emit) -> None:
    async def link(ebok: EbokClient, args: argparse.Namespace) -> int:
        try:
            answer = await ebok.link_partner(
                args.account_id,
                args.partner_number,
                invoice_number=args.invoice,
                gross=args.gross,
                ppe=args.ppe,
            )
        except RateLimited as e:
            return too_soon(args, e, "locked")
        emit(args, answer)
        return OK if answer.outcome in (Outcome.CHECKING, Outcome.LINKED) else NOT_DONE

    async def status(ebok: EbokClient, args: argparse.Namespace) -> int:
        emit(args, await ebok.linking_status(args.account_id))
        return OK

    async def decide(ebok: EbokClient, args: argparse.Namespace) -> int:
        act: Any = ebok.approve_link if args.decision == "approve" else ebok.reject_link
        emit(args, await act(args.account_id, args.reason, args.staff))
        return OK

    cmd = add(
        "link",
        client(link),
        "link an account to its business partner (data from a recent invoice, or the PPE)",
        json=True,
    )
    cmd.add_argument("account_id")
    cmd.add_argument("partner_number", help="10 digits, from the invoice")
    cmd.add_argument("--invoice", help="invoice number, e.g. FV/2026/11/000101")
    cmd.add_argument("--gross", help="the invoice's gross amount as printed, e.g. 245,67")
    cmd.add_argument("--ppe", help="PPE code (or the old code on older invoices)")
    cmd = add("link-status", client(status), "show where partner linking stands", json=True)
    cmd.add_argument("account_id")
    cmd = add(
        "link-decide", client(decide), "staff: approve or reject a link under review", json=True
    )
    cmd.add_argument("account_id")
    cmd.add_argument("decision", choices=("approve", "reject"))
    cmd.add_argument("--reason", required=True, help="recorded, and sent to the customer")
    cmd.add_argument("--staff", required=True, help="who decides (staff login)")
