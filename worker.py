"""The composition root: settings → adapters → activities → Temporal worker.

``python worker.py`` runs a worker against the configured cluster and database.
``python worker.py --dev`` runs everything on this machine: the Temporal dev server with its
UI, a SQLite store, a local SMTP server that keeps every mail as an .eml file, and the codec
server the UI uses to show decrypted payloads. Ctrl-C stops all of it.
Nothing imports this module.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import logging
import os
import shutil
import signal
import sysconfig
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from importlib.resources import as_file, files

from aiohttp import web
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import Adapters, build_activities
from adapters.operator.webhook import verify_status
from ebok.codec import AesGcmCodec, data_converter, new_key
from ebok.models.search import ALL as SEARCH_ATTRIBUTES
from ebok.settings import DEV_ENV_FILE, DevSettings, Settings, SmtpSecurity
from ebok.store.db import Store
from ebok.store.migrate import upgrade
from ebok.temporal import connect, runtime_for
from entrypoints.api.app import create_app
from entrypoints.api.server import serving
from entrypoints.codec_server import run_codec_server
from entrypoints.devsmtp import DevSmtpServer
from entrypoints.webhooks.operator import add_status_route
from entrypoints.webhooks.payments import run_webhooks
from entrypoints.webhooks.post import add_letter_route
from facade.billing_import import import_partners
from facade.client import EbokClient
from workflows.catalogue import ALL_WORKFLOWS

log = logging.getLogger("ebok.worker")

DEV_TEMPORAL_PORT, DEV_UI_PORT, DEV_SMTP_PORT = 7233, 8233, 1025


def _compile_workflows() -> None:
    """The sandbox re-imports a workflow's modules for every run; with bytecode on disk that
    is a load, not a compile (where PYTHONDONTWRITEBYTECODE is set, nothing else writes it)."""
    import workflows

    for folder in workflows.__path__:
        compileall.compile_dir(folder, quiet=2)


@asynccontextmanager
async def running_worker(client: Client, settings: Settings) -> AsyncIterator[Worker]:
    """A started worker with every workflow and activity, wired from settings."""
    settings.token_key_bytes  # noqa: B018 (fail at start, naming EBOK_TOKEN_KEY, not at a send)
    _compile_workflows()
    store = Store.from_settings(settings)
    adapters = Adapters.from_settings(settings)
    try:
        worker = Worker(
            client,
            task_queue=settings.task_queue,
            workflows=ALL_WORKFLOWS,
            activities=build_activities(settings, store, adapters),
            max_cached_workflows=settings.worker_max_cached_workflows,
        )
        async with worker:
            yield worker
    finally:
        await adapters.payments.aclose()
        await adapters.operator.aclose()
        await adapters.email.aclose()
        await store.aclose()


async def run(settings: Settings, stop: asyncio.Event) -> None:
    client = await connect(settings, runtime_for(settings))
    async with running_worker(client, settings):
        log.info("worker on task queue %r at %s", settings.task_queue, settings.temporal_address)
        await stop.wait()


def _dev_settings(settings: Settings) -> Settings:
    """Embedded defaults, written to the dev env file so the ``ebok`` CLI finds them too."""
    folder = DEV_ENV_FILE.parent
    folder.mkdir(parents=True, exist_ok=True)
    keys = settings.codec_keys.get_secret_value() if settings.codec_keys else f"dev1:{new_key()}"
    token_key = settings.token_key.get_secret_value() if settings.token_key else new_key()
    dso_secret = settings.operator_webhook_secret
    database = settings.database_url
    if "database_url" not in settings.model_fields_set:
        database = f"sqlite+aiosqlite:///{folder / 'ebok.db'}"
    values = {
        "EBOK_TEMPORAL_ADDRESS": f"localhost:{DEV_TEMPORAL_PORT}",
        "EBOK_DATABASE_URL": database,
        "EBOK_CODEC_KEYS": keys,
        "EBOK_TOKEN_KEY": token_key,
        "EBOK_EMAIL_ADAPTER": "smtp",
        "EBOK_SMTP_HOST": "127.0.0.1",
        "EBOK_SMTP_PORT": str(DEV_SMTP_PORT),
        "EBOK_SMTP_SECURITY": SmtpSecurity.NONE.value,
        # The sandbox DSO in a file, so `ebok dso …` drives the DSO this worker talks to and
        # pushes each change as a signed status webhook to the receiver below: news reaches
        # the incident at once, as from a real DSO, and the 10-minute poll stays a fallback.
        "EBOK_OPERATOR_SANDBOX_STATE": str(
            settings.operator_sandbox_state or folder / "dso-state.json"
        ),
        "EBOK_OPERATOR_WEBHOOK_SECRET": dso_secret.get_secret_value() if dso_secret else new_key(),
        "EBOK_INVOICE_SELLER_NIP": settings.invoice_seller_nip,
    }
    DEV_ENV_FILE.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    os.chmod(DEV_ENV_FILE, 0o600)  # it holds the keys
    return Settings(_env_file=DEV_ENV_FILE)


def _dso_status_route(settings: Settings, ebok: EbokClient) -> Callable[[web.Application], None]:
    """The sandbox DSO's status webhook beside the payment one, checked with the dev secret."""
    assert settings.operator_webhook_secret is not None
    secret = settings.operator_webhook_secret.get_secret_value()

    def add(app: web.Application) -> None:
        add_status_route(app, lambda body, headers: verify_status(body, headers, secret), ebok)
        add_letter_route(app, ebok)  # the sandbox post's letter notifications

    return add


def _binary(name: str) -> str:
    found = shutil.which(name, path=sysconfig.get_path("scripts")) or shutil.which(name)
    if not found:
        raise SystemExit(f"{name} not found: install the project (pip install -e .)")
    return found


async def run_dev(settings: Settings, stop: asyncio.Event) -> None:
    settings = _dev_settings(settings)
    folder = DEV_ENV_FILE.parent
    async with AsyncExitStack() as stack:
        store = Store.from_settings(settings)
        await upgrade(store.engine)
        with as_file(files("ebok.demo") / "partners.csv") as demo:
            loaded = await import_partners(store, demo)  # idempotent: safe on every start
        await store.aclose()

        smtpd = DevSmtpServer(folder=folder / "mail", port=DEV_SMTP_PORT)
        await smtpd.start()
        stack.push_async_callback(smtpd.stop)

        host, _, port = settings.codec_server_bind.rpartition(":")
        runner = await run_codec_server(
            AesGcmCodec(settings.codec_key_ring), host, int(port), settings.codec_cors_origin
        )
        stack.push_async_callback(runner.cleanup)

        env = await WorkflowEnvironment.start_local(
            port=DEV_TEMPORAL_PORT,
            ui=True,
            ui_port=DEV_UI_PORT,
            data_converter=data_converter(settings.codec_key_ring),
            search_attributes=SEARCH_ATTRIBUTES,
            dev_server_existing_path=_binary("temporal"),
            dev_server_database_filename=str(folder / "temporal.db"),
            dev_server_extra_args=[
                "--ui-codec-endpoint",
                f"http://{settings.codec_server_bind}",
                "--ui-disable-news-fetch",
            ],
        )
        stack.push_async_callback(env.shutdown)
        print(
            "\neBOK engine, development mode\n"
            f"  Temporal UI      http://localhost:{DEV_UI_PORT}  (payloads decrypted by the"
            f" codec server at http://{settings.codec_server_bind})\n"
            f"  Temporal         localhost:{DEV_TEMPORAL_PORT}, task queue {settings.task_queue}\n"
            f"  database         {settings.database_url}\n"
            f"  e-mail           SMTP on 127.0.0.1:{DEV_SMTP_PORT}; each mail saved under "
            f"{(folder / 'mail').resolve()}\n"
            f"  payment webhook  http://{settings.webhook_bind}/payments/"
            f"{settings.payments_adapter}/notify\n"
            f"  DSO webhook      http://{settings.webhook_bind}/operator/status  (sandbox DSO"
            f" state {settings.operator_sandbox_state}: drive it with ebok dso)\n"
            f"  settings for the ebok CLI: {DEV_ENV_FILE.resolve()}\n"
            f"  demo billing data: {loaded.loaded} PPEs (ebok/demo/partners.csv); grid operator:"
            " sandbox registry\n"
            "  try:  ebok register jan@example.pl jan.kowalski   (then set-password, activate)\n"
            "        ebok link ACCOUNT_ID 1000000101 --invoice FV/2026/11/000101 --gross 245,67\n"
            "Ctrl-C stops everything.\n",
            flush=True,
        )
        ebok = EbokClient(env.client, Store.from_settings(settings), settings)
        stack.push_async_callback(ebok.aclose)
        host, _, port = settings.webhook_bind.rpartition(":")
        hooks = await run_webhooks(
            ebok, settings.payments_adapter, host, int(port), _dso_status_route(settings, ebok)
        )
        stack.push_async_callback(hooks.cleanup)
        try:
            api = serving(create_app(ebok, settings), settings.api_bind)
            url = await stack.enter_async_context(api)
            hint = "a key: ebok api-key create --service NAME --scopes registration,…"
            print(f"  HTTP API         {url}/docs  ({hint})", flush=True)
        except OSError as e:  # the API is a convenience here; the rest runs without it
            log.warning("HTTP API not served on %s (%s); set EBOK_API_BIND", settings.api_bind, e)
        async with running_worker(env.client, settings):
            await stop.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--dev", action="store_true", help="run everything embedded on this machine"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # the dev SMTP server's chatter
    logging.getLogger("fontTools").setLevel(logging.WARNING)  # every step of a font subset
    settings = DevSettings() if args.dev else Settings()

    async def _main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await (run_dev if args.dev else run)(settings, stop)

    asyncio.run(_main())


if __name__ == "__main__":
    main()
