"""ebok: run, set up and drive the eBOK engine from a shell.

Processes are driven through ``EbokClient``, the facade backend services use, so what works
here works for them. Settings come from ``EBOK_*`` variables (and ``.ebok-dev/dev.env``).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NoReturn

from pydantic import BaseModel, SecretStr, ValidationError
from sqlalchemy.engine import make_url

from ebok.codec import new_key
from ebok.errors import EbokError, InvalidInput, RateLimited
from ebok.models.registration import ActivationOutcome
from ebok.settings import DEV_ENV_FILE, Settings, parse_codec_keys
from ebok.store.db import Store
from ebok.store.migrate import upgrade_url
from entrypoints.cli.account import add_commands as add_account_commands
from entrypoints.cli.api import add_commands as add_api_commands
from entrypoints.cli.common import ClientCommand, token_of, too_soon
from entrypoints.cli.deletion import add_commands as add_deletion_commands
from entrypoints.cli.dso import add_commands as add_dso_commands
from entrypoints.cli.einvoice import add_commands as add_einvoice_commands
from entrypoints.cli.invoices import add_commands as add_invoice_commands
from entrypoints.cli.linking import add_commands as add_linking_commands
from entrypoints.cli.outages import add_commands as add_outage_commands
from entrypoints.cli.payments import add_commands as add_payments_commands
from entrypoints.cli.post import add_commands as add_post_commands
from entrypoints.cli.sign_in import add_commands as add_sign_in_commands
from facade.billing_import import (
    COLUMNS,
    DEFAULT_BATCH,
    INVOICE_COLUMNS,
    ImportFileError,
    import_partners,
)
from facade.client import EbokClient

__all__ = ["main", "script"]

OK, FAILED, BAD_INPUT, NOT_ACTIVATED = 0, 1, 2, 3
EXIT_CODES = """exit codes:
  0  done
  1  failed (no such registration, wrong state, server unreachable, ...)
  2  bad input or settings; the message names the field or EBOK_* variable
  3  activate: the link was not activated (expired, invalid or already used);
     link: the data did not match, the partner is taken, or linking is now locked;
     einvoice-confirm: the link did not confirm (expired, invalid or already used);
     email-change-confirm/-undo: the link did nothing (expired, invalid, used, taken);
     account-delete-confirm: the link did not schedule the deletion;
     sign-in: refused; session-valid: not valid; password-reset-confirm: not changed
  4  resend, einvoice-request/-resend, email-change-resend, account-delete/-resend: too soon;
     link: locked out; the message says when; sign-in: throttled (retry_at)"""

Command = Callable[[argparse.Namespace], int]


class _Exit(Exception):
    """Stop with an exit code and lines for stderr, from anywhere below ``main``."""

    def __init__(self, code: int, *lines: str) -> None:
        super().__init__(*lines)
        self.code, self.lines = code, lines


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as e:
        lines = ["error: invalid settings"]
        # Values are left out on purpose: the rejected one may be a password or a key.
        for err in e.errors(include_url=False, include_input=False):
            name = "_".join(map(str, err["loc"])).upper()
            lines.append(f"  {name if name.startswith('EBOK_') else 'EBOK_' + name}: {err['msg']}")
        if DEV_ENV_FILE.exists():
            lines.append(f"  (read from the environment and {DEV_ENV_FILE.resolve()})")
        raise _Exit(BAD_INPUT, *lines) from None


def _safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _show(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="seconds")
    return str(value)


def _table(rows: dict[str, Any]) -> str:
    width = max(map(len, rows))
    return "\n".join(f"{key.ljust(width)}  {_show(value)}" for key, value in rows.items())


def _emit(args: argparse.Namespace, model: BaseModel) -> None:
    print(model.model_dump_json(indent=2) if args.json else _table(dict(model)))


# --- commands without Temporal ------------------------------------------------------------------


def _exec_worker(*extra: str) -> Command:
    def run(args: argparse.Namespace) -> NoReturn:
        sys.stdout.flush()
        sys.stderr.flush()
        # Executed, never imported: worker.py is the composition root. -P keeps a stray
        # worker.py in the current folder from shadowing the installed one.
        os.execv(sys.executable, [sys.executable, "-P", "-m", "worker", *extra])

    return run


def _migrate(args: argparse.Namespace) -> int:
    settings = _settings()
    asyncio.run(upgrade_url(settings.database_url))
    print(f"database {_safe_url(settings.database_url)} is at the newest schema")
    return OK


def _keygen(args: argparse.Namespace) -> int:
    kid = args.kid or "k" + datetime.now(UTC).strftime("%Y%m%d")
    line = f"{kid}:{new_key()}"
    try:
        parse_codec_keys(line)  # the very check the settings will make when the key is used
    except ValueError:
        raise _Exit(BAD_INPUT, "error: kid: use ASCII letters, digits and '-' only") from None
    print(line)
    print(
        "Put it first in EBOK_CODEC_KEYS (comma-separated) for every worker and client; keep"
        " the old keys after it as long as histories they sealed may be read. The part after"
        " the colon also serves as an EBOK_TOKEN_KEY (use a different one).",
        file=sys.stderr,
    )
    return OK


def _config(args: argparse.Namespace) -> int:
    settings = _settings()
    dumped = settings.model_dump(mode="json")  # spelled as EBOK_* accepts it (PT3M, ...)
    dumped["database_url"] = _safe_url(settings.database_url)
    rows = {
        f"EBOK_{name.upper()}": "***" if isinstance(getattr(settings, name), SecretStr) else value
        for name, value in dumped.items()
    }
    if args.json:
        print(json.dumps(rows, indent=2))
        return OK
    # Whether a value came from the environment is the question when a variable "does nothing".
    for name, line in zip(dumped, _table(rows).split("\n"), strict=True):
        print(f"{line}  (set)" if name in settings.model_fields_set else line)
    if DEV_ENV_FILE.exists():
        print(f"# read from the environment and {DEV_ENV_FILE.resolve()}")
    return OK


def _import_partners(args: argparse.Namespace) -> int:
    settings = _settings()

    async def go() -> int:
        store = Store.from_settings(settings)
        try:
            report = await import_partners(store, args.file, args.batch)
        except ImportFileError as e:
            raise _Exit(FAILED, f"error: {args.file}: {e}") from None
        finally:
            await store.aclose()
        if args.json:
            bad = [{"line": e.line, "field": e.field, "message": e.message} for e in report.bad]
            shown = {"rows_read": report.rows_read, "loaded": report.loaded, "bad": bad}
            print(json.dumps(shown, indent=2, ensure_ascii=False))
        else:
            print(report.summary(), *report.bad, sep="\n")
        # The good rows are loaded either way; 2 says the file needs fixing and loading again.
        return OK if report.ok else BAD_INPUT

    return asyncio.run(go())


def _positive(text: str) -> int:
    if not text.isdecimal() or int(text) < 1:
        raise argparse.ArgumentTypeError("must be a whole number of at least 1")
    return int(text)


# --- registration, through the facade -----------------------------------------------------------


def _read_password(from_stdin: bool, repeat: bool = True) -> str:
    if from_stdin:
        return sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    if not sys.stdin.isatty():  # getpass would fall back to echoing stdin with a warning
        raise _Exit(BAD_INPUT, "error: password: no terminal to ask on; use --password-stdin")
    first = getpass.getpass("Password: ")
    if repeat and getpass.getpass("Repeat the password: ") != first:
        raise _Exit(BAD_INPUT, "error: password: the two entries differ")
    return first


def _client(fn: ClientCommand, *, password: bool = False, repeat: bool = True) -> Command:
    """``password``: read one first (``repeat``: twice at a terminal, for a new one)."""

    def run(args: argparse.Namespace) -> int:
        settings = _settings()
        if password:  # before the event loop: Ctrl-C at a prompt in a thread would hang
            args.password = _read_password(args.password_stdin, repeat)

        async def go() -> int:
            try:
                ebok = await EbokClient.connect(settings)
            except RuntimeError as e:
                raise _Exit(FAILED, f"error: Temporal at {settings.temporal_address}: {e}") from e
            try:
                return await fn(ebok, args)
            finally:
                await ebok.aclose()

        return asyncio.run(go())

    return run


async def _register(ebok: EbokClient, args: argparse.Namespace) -> int:
    registered = await ebok.register(args.email, args.login, args.language)
    print(registered.model_dump_json() if args.json else registered.registration_id)
    return OK


async def _set_password(ebok: EbokClient, args: argparse.Namespace) -> int:
    pending = await ebok.set_credentials(
        args.registration_id, args.password, args.terms_version, args.accept_terms
    )
    _emit(args, pending)
    return OK


async def _activate(ebok: EbokClient, args: argparse.Namespace) -> int:
    outcome = await ebok.activate(token_of(args.token))
    print(json.dumps({"outcome": outcome.value}) if args.json else outcome.value)
    return OK if outcome is ActivationOutcome.ACTIVATED else NOT_ACTIVATED


async def _resend(ebok: EbokClient, args: argparse.Namespace) -> int:
    try:
        pending = await ebok.resend(args.registration_id, "staff" if args.staff else "customer")
    except RateLimited as e:
        return too_soon(args, e)
    _emit(args, pending)
    return OK


async def _cancel(ebok: EbokClient, args: argparse.Namespace) -> int:
    _emit(args, await ebok.cancel(args.registration_id, args.reason))
    return OK


async def _status(ebok: EbokClient, args: argparse.Namespace) -> int:
    _emit(args, await ebok.registration_status(args.registration_id))
    return OK


# --- parser and entry point ---------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ebok",
        description=(__doc__ or "").split("\n\n")[0],
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    out = argparse.ArgumentParser(add_help=False)
    out.add_argument("--json", action="store_true", help="print JSON instead of text")

    def add(name: str, run: Command, help: str, json: bool = False) -> argparse.ArgumentParser:
        cmd = sub.add_parser(name, help=help, description=help, parents=[out] if json else [])
        cmd.set_defaults(run=run)
        return cmd

    add("worker", _exec_worker(), "run a worker against EBOK_TEMPORAL_ADDRESS (python -m worker)")
    add("dev", _exec_worker("--dev"), "run everything on this machine: Temporal + UI, SMTP, worker")
    add("migrate", _migrate, "upgrade EBOK_DATABASE_URL to the newest schema (Alembic head)")
    cmd = add("keygen", _keygen, "print a new payload key 'kid:base64' for EBOK_CODEC_KEYS")
    cmd.add_argument("--kid", help="key id: letters, digits, '-' (default: k + today, k20260131)")
    add("config", _config, "show the effective settings, secrets masked", json=True)
    about = "load data exported by the billing system"
    imports = sub.add_parser("import", help=about, description=about)
    what = imports.add_subparsers(dest="what", required=True, metavar="WHAT")
    about = "load a partner CSV (one row per PPE); exit 2 names the bad rows, the rest load"
    cmd = what.add_parser("partners", help=about, description=about, parents=[out])
    cmd.set_defaults(run=_import_partners)
    cmd.add_argument("file", help="CSV, UTF-8, header: " + ",".join(COLUMNS + INVOICE_COLUMNS))
    cmd.add_argument(
        "--batch", type=_positive, default=DEFAULT_BATCH, help="rows per transaction (%(default)s)"
    )

    cmd = add("register", _client(_register), "step 1: start a registration", json=True)
    cmd.add_argument("email", help="the address the activation mail goes to")
    cmd.add_argument("login", help="the login the customer chose")
    cmd.add_argument("--language", choices=("pl", "en"), default="pl", help="of the e-mails")
    cmd = add(
        "set-password",
        _client(_set_password, password=True),
        "step 2: set the password, record the accepted terms, send the activation mail",
        json=True,
    )
    cmd.add_argument("registration_id")
    cmd.add_argument("--terms-version", required=True, help="the terms the customer accepted")
    cmd.add_argument("--accept-terms", action="store_true", required=True, help="they did")
    cmd.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password as one line of stdin instead of asking twice at the terminal"
        " (never an argument: it would stay in shell history and show in ps)",
    )
    cmd = add("activate", _client(_activate), "follow an activation link", json=True)
    cmd.add_argument("token", help="the token from the link, or the whole link")
    cmd = add("resend", _client(_resend), "send a new activation link (old ones stop)", json=True)
    cmd.add_argument("registration_id")
    cmd.add_argument("--staff", action="store_true", help="on behalf of staff (even if expired)")
    cmd = add("cancel", _client(_cancel), "stop a registration and purge its data", json=True)
    cmd.add_argument("registration_id")
    cmd.add_argument("--reason", required=True, help="recorded in the workflow's result")
    cmd = add("status", _client(_status), "show where a registration stands", json=True)
    cmd.add_argument("registration_id")
    add_sign_in_commands(add, _client, _emit)
    add_linking_commands(add, _client, _emit)
    add_invoice_commands(sub, what, add, _client, _emit, _settings)
    add_payments_commands(sub, _settings)
    add_einvoice_commands(add, _client, _emit)
    add_outage_commands(add, _client, _emit)
    add_deletion_commands(add, _client, _emit)
    add_dso_commands(sub, _settings)
    add_post_commands(sub, _settings)
    add_api_commands(sub, add, _client, _settings)
    add_account_commands(sub, add, _client, _emit, _settings)
    return parser


def main(argv: list[str] | None = None) -> int:
    """The ``ebok`` console script; returns the exit code (the script wrapper exits with it)."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as e:  # --help and usage errors; returned so callers in-process go on
        return e.code if isinstance(e.code, int) else BAD_INPUT
    try:
        code: int = args.run(args)
        return code
    except _Exit as e:
        print(*e.lines, sep="\n", file=sys.stderr)
        return e.code
    except InvalidInput as e:
        for field, message in e.errors.items():
            print(f"error: {field}: {message}", file=sys.stderr)
        return BAD_INPUT
    except EbokError as e:
        print(f"error: {e}", file=sys.stderr)
        return FAILED
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # an operator needs the cause in one line, not a traceback
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
        return FAILED


def script() -> NoReturn:
    """The console script: ``main``, then out without interpreter teardown.

    The Temporal client's native runtime keeps threads that may still touch the interpreter
    while it finalizes, which now and then aborts a finished command ("PyGILState_Release …
    must be current", exit 134; temporalio/sdk-python#300). Nothing is left to clean up here.
    """
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
