"""``ebok outage …`` and ``ebok incident …``: outage reports and incidents from a shell, for
demos and the back office; ``ebok operator-webhook`` serves the DSO's status notifications."""

from __future__ import annotations

import argparse
import asyncio
import signal

from entrypoints.cli.common import Add, Emit, Wrap
from facade.client import EbokClient

OK = 0


def add_commands(add: Add, client: Wrap, emit: Emit) -> None:
    async def report(ebok: EbokClient, args: argparse.Namespace) -> int:
        emit(
            args,
            await ebok.report_outage(
                args.ppe,
                args.description,
                account_id=args.account,
                email=args.email,
                phone=args.phone,
                language=args.language,
            ),
        )
        return OK

    async def status(ebok: EbokClient, args: argparse.Namespace) -> int:
        emit(args, await ebok.outage_status(args.report_id))
        return OK

    async def info(ebok: EbokClient, args: argparse.Namespace) -> int:
        emit(args, await ebok.add_outage_info(args.report_id, args.text))
        return OK

    async def power_back(ebok: EbokClient, args: argparse.Namespace) -> int:
        emit(args, await ebok.power_is_back(args.report_id))
        return OK

    async def incident(ebok: EbokClient, args: argparse.Namespace) -> int:
        emit(args, await ebok.incident_status(args.incident_id))
        return OK

    async def staff(ebok: EbokClient, args: argparse.Namespace) -> int:
        if args.action == "merge":
            if not args.into:
                raise SystemExit("error: merge needs --into INCIDENT_ID")
            done = await ebok.merge_incidents(args.incident_id, args.into, args.reason, args.staff)
        elif args.action == "close":
            done = await ebok.close_incident(args.incident_id, args.reason, args.staff)
        else:
            done = await ebok.reopen_incident(args.incident_id, args.reason, args.staff)
        emit(args, done)
        return OK

    async def webhook(ebok: EbokClient, args: argparse.Namespace) -> int:
        from entrypoints.webhooks.operator import run_webhook_server
        from facade.wiring import status_webhook_verifier

        verifier = status_webhook_verifier(ebok.settings)
        host, _, port = args.bind.rpartition(":")
        runner = await run_webhook_server(
            verifier.verify_status_notification, ebok, host or "127.0.0.1", int(port)
        )
        print(f"DSO status webhook on http://{args.bind}/operator/status (Ctrl-C stops)")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            await runner.cleanup()
            await verifier.aclose()
        return OK

    cmd = add("outage", client(report), "report no power at a PPE (linked or anonymous)", json=True)
    cmd.add_argument("ppe", help="18-digit PPE code")
    cmd.add_argument("--description", required=True, help="what the customer sees")
    who = cmd.add_mutually_exclusive_group(required=True)
    who.add_argument("--account", help="a linked web account (reports for its own PPEs)")
    who.add_argument("--email", help="an anonymous reporter's address")
    who.add_argument("--phone", help="an anonymous reporter's phone (no mails)")
    cmd.add_argument("--language", choices=("pl", "en"), default="pl", help="of the e-mails")
    cmd = add("outage-status", client(status), "show a report and its incident", json=True)
    cmd.add_argument("report_id")
    cmd = add("outage-info", client(info), "add the customer's information to a report", json=True)
    cmd.add_argument("report_id")
    cmd.add_argument("text")
    cmd = add("outage-back", client(power_back), "the customer says power is back", json=True)
    cmd.add_argument("report_id")
    cmd = add("incident-status", client(incident), "show an outage incident", json=True)
    cmd.add_argument("incident_id")
    cmd = add("incident", client(staff), "staff: close, re-open or merge an incident", json=True)
    cmd.add_argument("incident_id")
    cmd.add_argument("action", choices=("close", "reopen", "merge"))
    cmd.add_argument("--into", help="merge: the incident that takes the reports")
    cmd.add_argument("--reason", required=True, help="recorded in the incident")
    cmd.add_argument("--staff", required=True, help="who acts (staff login)")
    cmd = add(
        "operator-webhook",
        client(webhook),
        "serve POST /operator/status: the DSO's signed notifications → incidents",
    )
    cmd.add_argument("--bind", default="127.0.0.1:8082", help="host:port (%(default)s)")
