"""``ebok api`` serves the HTTP API; ``ebok api-key create|list|revoke`` manage the keys of
the services that call it (the key itself is printed once, at ``create``; only its hash is
kept)."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections.abc import Awaitable, Callable

from ebok.settings import Settings
from ebok.store.api_keys import ApiKey
from ebok.store.db import Store
from entrypoints.api.app import create_app
from entrypoints.api.server import serving
from entrypoints.cli.common import Add, Wrap
from facade.api_keys import KEYS_PER_SERVICE, SCOPES, ApiKeys
from facade.client import EbokClient

__all__ = ["add_commands"]

OK = 0


def _shown(key: ApiKey) -> dict[str, object]:
    return {
        "id": key.id,
        "service": key.service,
        "scopes": sorted(key.scopes),
        "created_at": key.created_at.isoformat(timespec="seconds"),
        "revoked_at": key.revoked_at.isoformat(timespec="seconds") if key.revoked_at else None,
    }


def add_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    add: Add,
    client: Wrap,
    settings: Callable[[], Settings],
) -> None:
    def with_keys(
        fn: Callable[[ApiKeys, argparse.Namespace], Awaitable[None]],
    ) -> Callable[[argparse.Namespace], int]:
        def run(args: argparse.Namespace) -> int:
            async def go() -> int:
                store = Store.from_settings(settings())
                try:
                    await fn(ApiKeys(store), args)
                finally:
                    await store.aclose()
                return OK

            return asyncio.run(go())

        return run

    async def create(keys: ApiKeys, args: argparse.Namespace) -> None:
        made = await keys.create(args.service, args.scopes.split(","))
        if args.json:
            print(json.dumps(_shown(made.key) | {"key": made.secret}, indent=2))
        else:
            print(made.secret)
            print(
                f"API key {made.key.id} for {made.key.service}"
                f" ({', '.join(sorted(made.key.scopes))}). It is shown only now: hand it to"
                " the service as `Authorization: Bearer <key>`.",
                file=sys.stderr,
            )

    async def listed(keys: ApiKeys, args: argparse.Namespace) -> None:
        found = await keys.list()
        if args.json:
            print(json.dumps([_shown(k) for k in found], indent=2))
            return
        for k in found:
            state = f"revoked {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "in force"
            made = f"{k.created_at:%Y-%m-%d %H:%M}"
            print(f"{k.id}  {k.service}  {','.join(sorted(k.scopes))}  {made}  {state}")

    async def revoke(keys: ApiKeys, args: argparse.Namespace) -> None:
        await keys.revoke(args.id)
        print(f"API key {args.id} revoked")

    async def serve(ebok: EbokClient, args: argparse.Namespace) -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        app = create_app(ebok, ebok.settings)
        async with serving(app, args.bind or ebok.settings.api_bind) as url:
            print(f"HTTP API on {url} (docs {url}/docs; Ctrl-C stops)", file=sys.stderr)
            await stop.wait()
        return OK

    about = "manage the API keys of the services calling the HTTP API"
    keys = subparsers.add_parser("api-key", help=about, description=about)
    what = keys.add_subparsers(dest="what", required=True, metavar="WHAT")
    about = (
        f"make a key (printed once); a service has at most {KEYS_PER_SERVICE} in force,"
        " so keys can be rotated"
    )
    cmd = what.add_parser("create", help=about, description=about)
    cmd.set_defaults(run=with_keys(create))
    cmd.add_argument("--service", required=True, help="the calling service, e.g. portal")
    cmd.add_argument(
        "--scopes", required=True, help=f"comma-separated, of: {','.join(sorted(SCOPES))}"
    )
    cmd.add_argument("--json", action="store_true", help="print JSON instead of text")
    about = "list every key, revoked ones included (never the keys themselves)"
    cmd = what.add_parser("list", help=about, description=about)
    cmd.set_defaults(run=with_keys(listed))
    cmd.add_argument("--json", action="store_true", help="print JSON instead of text")
    about = "revoke a key: it stops working at once"
    cmd = what.add_parser("revoke", help=about, description=about)
    cmd.set_defaults(run=with_keys(revoke))
    cmd.add_argument("id", help="the key's id (from create or list)")

    cmd = add("api", client(serve), "serve the HTTP API (EBOK_API_BIND) for backend services")
    cmd.add_argument("--bind", help="host:port (default EBOK_API_BIND)")
