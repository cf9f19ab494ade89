"""``ebok dso …``: play the sandbox grid operator (DSO) from a shell, for demos.

The sandbox DSO's incidents live in ``EBOK_OPERATOR_SANDBOX_STATE`` (a JSON file the worker's
sandbox adapter shares), so a storm started here is the outage the worker finds when a customer
reports, and a ticket the worker opened is an incident listed here. Each change is then pushed
as the DSO's signed status webhook (``X-DSO-Signature``, ``EBOK_OPERATOR_WEBHOOK_SECRET``) to
the receiver, as a real DSO would: ``python worker.py --dev`` serves it on ``EBOK_WEBHOOK_BIND``.
Without a secret, or with the receiver down, the worker still sees the change at its next poll.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from adapters.operator.base import IncidentStatus
from adapters.operator.contract_registry import RegistryError, load_registry
from adapters.operator.incidents import AREAS, Incident, SimulationError
from adapters.operator.simulation import DsoSimulation
from adapters.operator.webhook import encode_notification
from ebok.settings import Settings

__all__ = ["add_commands", "parse_when"]

OK, FAILED, BAD_INPUT = 0, 1, 2
_RELATIVE = re.compile(r"\+(\d+)([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_PUSH_TIMEOUT = 5.0


class _Refused(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def parse_when(text: str, now: datetime | None = None) -> datetime:
    """``+90m``, ``+2h``, ``+1d`` from now, or an ISO 8601 time (without an offset: local)."""
    now = now or datetime.now(UTC)
    relative = _RELATIVE.fullmatch(text.strip())
    if relative:
        return now + timedelta(**{_UNITS[relative[2]]: int(relative[1])})
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError("use +90m, +2h, +1d or an ISO 8601 time like 2026-12-01T18:00") from None
    return (when if when.tzinfo else when.astimezone()).astimezone(UTC)


def _when_arg(text: str) -> datetime:
    try:
        return parse_when(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _areas(settings: Settings) -> dict[str, str]:
    """The DSO's areas by their case-folded name (billing stores them upper-case)."""
    try:
        rows = load_registry(settings.operator_registry)
    except RegistryError as e:
        raise _Refused(BAD_INPUT, f"error: EBOK_OPERATOR_REGISTRY: {e}") from None
    names = [*AREAS, *(row.area for row in rows if row.area)]
    return {name.casefold(): name for name in names}


def _area(settings: Settings, typed: str) -> str:
    known = _areas(settings)
    found = known.get(typed.strip().casefold())
    if found is None:
        shown = ", ".join(sorted(set(known.values())))
        raise _Refused(BAD_INPUT, f"error: area: unknown to the sandbox DSO; one of: {shown}")
    return found


def _shown(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="seconds")
    return str(getattr(value, "value", value))


def _row(incident: Incident) -> dict[str, str]:
    return {
        "reference": incident.reference,
        "kind": incident.kind.value,
        "area": incident.area,
        "state": incident.state.value,
        "started_at": _shown(incident.started_at),
        "expected_restoration": _shown(incident.expected_restoration),
        "window_end": _shown(incident.window_end),
        "restored_at": _shown(incident.restored_at),
        "tickets": str(len(incident.ticket_keys)),
        "note": incident.note or "-",
    }


def _print(args: argparse.Namespace, incident: Incident) -> None:
    row = _row(incident)
    if args.json:
        print(json.dumps(row, indent=2, ensure_ascii=False))
    else:
        width = max(map(len, row))
        print("\n".join(f"{key.ljust(width)}  {value}" for key, value in row.items()))


def _pusher(settings: Settings, url: str | None) -> Callable[[IncidentStatus], Any] | None:
    """The DSO's webhook call for each change, or None when no secret is configured."""
    if settings.operator_webhook_secret is None:
        return None
    secret = settings.operator_webhook_secret.get_secret_value()
    target = url or f"http://{settings.webhook_bind}/operator/status"

    async def push(status: IncidentStatus) -> None:
        body, headers = encode_notification(status, secret)
        try:
            async with httpx.AsyncClient(timeout=_PUSH_TIMEOUT) as http:
                answer = await http.post(target, content=body, headers=headers)
        except httpx.HTTPError as e:
            # The change is made at the DSO either way; polling catches up with it.
            print(
                f"status webhook not delivered to {target} ({type(e).__name__}); the worker "
                "sees the change at its next poll",
                file=sys.stderr,
            )
            return
        if answer.status_code == 200:
            followed = answer.json().get("incident")
            print(f"{status.reference} {status.state.value} → {followed}", file=sys.stderr)
        elif answer.status_code == 202:
            print(f"{status.reference}: no incident of ours follows it (yet)", file=sys.stderr)
        else:
            print(
                f"status webhook {target} answered {answer.status_code}: {answer.text[:200]}",
                file=sys.stderr,
            )

    return push


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    settings: Callable[[], Settings] = Settings,
) -> None:
    """Add ``dso`` and its subcommands; ``settings`` reads (and reports bad) settings."""

    def command(action: str) -> Callable[[argparse.Namespace], int]:
        def run(args: argparse.Namespace) -> int:
            s = settings()
            if s.operator_adapter != "sandbox" or s.operator_sandbox_state is None:
                print(
                    "error: EBOK_OPERATOR_SANDBOX_STATE: not set, so the sandbox DSO lives in "
                    "the worker's memory and no other process can drive it; `python worker.py "
                    "--dev` sets it (in .ebok-dev/dev.env), or set it (and "
                    "EBOK_OPERATOR_ADAPTER=sandbox) for the worker and the CLI alike",
                    file=sys.stderr,
                )
                return BAD_INPUT
            try:
                return asyncio.run(_act(s, action, args))
            except _Refused as e:
                print(e, file=sys.stderr)
                return e.code
            except SimulationError as e:
                print(f"error: {e}", file=sys.stderr)
                return FAILED

        return run

    about = "play the sandbox grid operator (EBOK_OPERATOR_SANDBOX_STATE): outages and their news"
    dso = subparsers.add_parser("dso", help=about, description=about)
    what = dso.add_subparsers(dest="what", required=True, metavar="ACTION")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print JSON instead of text")
    common.add_argument(
        "--notify",
        metavar="URL",
        help="where the DSO posts its status webhooks (default http://EBOK_WEBHOOK_BIND"
        "/operator/status; sent only when EBOK_OPERATOR_WEBHOOK_SECRET is set)",
    )
    when = "+90m, +2h, +1d or an ISO 8601 time (no offset: local time)"

    def add(name: str, about: str) -> argparse.ArgumentParser:
        cmd = what.add_parser(name, help=about, description=about, parents=[common])
        cmd.set_defaults(run=command(name))
        return cmd

    cmd = add("storm", "an unplanned outage over AREA from now (or the one already there)")
    cmd.add_argument("area", metavar="AREA", help="e.g. warszawa-mokotow (any case)")
    cmd.add_argument("--eta", type=_when_arg, help=f"expected restoration: {when}")
    cmd.add_argument("--note", default="", help="the DSO's note")
    cmd = add("plan", "announced work over AREA from START to END (it ends itself at END)")
    cmd.add_argument("area", metavar="AREA")
    cmd.add_argument("start", metavar="START", type=_when_arg, help=when)
    cmd.add_argument("end", metavar="END", type=_when_arg, help=when)
    cmd.add_argument("--note", default="", help="the DSO's note")
    for name, about in (
        ("ack", "the DSO acknowledges incident REF"),
        ("crew", "a crew is on its way to incident REF"),
        ("restore", "power is back: incident REF restored"),
        ("cancel", "incident REF is no outage at the DSO's side (e.g. the customer's own fuse)"),
    ):
        cmd = add(name, about)
        cmd.add_argument("ref", metavar="REF", help="the DSO's reference, SBX-I-…")
        if name == "cancel":
            cmd.add_argument("--note", default="", help="the DSO's note")
    cmd = add("eta", "set (or with 'none' clear) the expected restoration of incident REF")
    cmd.add_argument("ref", metavar="REF")
    cmd.add_argument("when", metavar="WHEN", help=f"{when}, or none")
    cmd = add("list", "the sandbox DSO's incidents, newest first")
    cmd.add_argument("--all", action="store_true", help="ended ones too")


async def _act(settings: Settings, action: str, args: argparse.Namespace) -> int:
    assert settings.operator_sandbox_state is not None
    dso = DsoSimulation(
        path=settings.operator_sandbox_state, on_status=_pusher(settings, args.notify)
    )
    if action == "list":
        await dso.settle()  # planned work past its window ends now, as the worker would see
        found = sorted(dso.incidents.values(), key=lambda i: i.started_at, reverse=True)
        found = [i for i in found if args.all or not i.state.terminal]
        if args.json:
            print(json.dumps([_row(i) for i in found], indent=2, ensure_ascii=False))
        else:
            for i in found:
                row = _row(i)
                print(
                    f"{row['reference']}  {row['kind']:9}  {row['area']:24}  "
                    f"{row['state']:15}  eta {row['expected_restoration']}  "
                    f"tickets {row['tickets']}"
                )
            print(f"{len(found)} incident(s)", file=sys.stderr)
        return OK
    if action == "storm":
        ref = await dso.start_storm(
            _area(settings, args.area), expected_restoration=args.eta, note=args.note
        )
    elif action == "plan":
        ref = await dso.plan_work(_area(settings, args.area), args.start, args.end, args.note)
    else:
        ref = args.ref
        if action == "ack":
            await dso.acknowledge(ref)
        elif action == "crew":
            await dso.dispatch_crew(ref)
        elif action == "restore":
            await dso.restore(ref)
        elif action == "cancel":
            await dso.cancel(ref, args.note)
        else:
            try:
                eta = None if args.when.strip().lower() == "none" else parse_when(args.when)
            except ValueError as e:
                raise _Refused(BAD_INPUT, f"error: WHEN: {e}") from None
            await dso.set_expected_restoration(ref, eta)
    _print(args, dso.incidents[ref])
    return OK
