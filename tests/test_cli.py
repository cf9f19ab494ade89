"""The ``ebok`` command, run in-process against the session's Temporal dev server, real SMTP
and the store. The CLI builds its own Settings, so each test describes them in EBOK_* variables.

``main`` calls ``asyncio.run``; it runs in a thread so it does not nest in the test's loop.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import sqlite3
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from ebok.settings import DEMO_SELLER_NIP, Settings, parse_codec_keys
from ebok.store.db import Store
from entrypoints.cli.main import main
from entrypoints.devsmtp import DevSmtpServer
from tests.conftest import worker_for
from tests.mailbox import activation_token

pytestmark = pytest.mark.asyncio(loop_scope="session")

PASSWORD = "Zielona-Łąka-2026!"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    """No EBOK_* from the caller's shell but the required seller's NIP, and no stray
    .ebok-dev/dev.env in the folder."""
    for name in list(os.environ):
        if name.startswith("EBOK_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("EBOK_INVOICE_SELLER_NIP", DEMO_SELLER_NIP)
    monkeypatch.chdir(tmp_path)
    yield monkeypatch


@pytest.fixture
def cli_env(
    clean_env: pytest.MonkeyPatch,
    env: WorkflowEnvironment,
    settings: Settings,
    smtpd: DevSmtpServer,
) -> None:
    """The variables that make the CLI's Settings match the test worker's."""
    for name, value in {
        "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "DATABASE_URL": settings.database_url,
        "TASK_QUEUE": settings.task_queue,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtpd.port),
        "SMTP_SECURITY": "none",
        "TOKEN_KEY": settings.token_key.get_secret_value() if settings.token_key else "",
        "MAIL_FROM": "eBOK <no-reply@ebok.example.pl>",
        "PUBLIC_URL": "https://ebok.test/",
    }.items():
        clean_env.setenv(f"EBOK_{name}", value)


async def ebok(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


def unique(prefix: str) -> tuple[str, str]:
    tag = uuid.uuid4().hex[:10]
    return f"{prefix}.{tag}@example.pl", f"{prefix}.{tag}"


async def register(capsys: pytest.CaptureFixture[str], prefix: str) -> str:
    email, login = unique(prefix)
    assert await ebok("register", email, login) == 0
    return capsys.readouterr().out.strip()


async def set_password(monkeypatch: pytest.MonkeyPatch, rid: str) -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    return await ebok(
        "set-password", rid, "--terms-version", "2026-01", "--accept-terms", "--password-stdin"
    )


@pytest.mark.usefixtures("cli_env")
async def test_register_set_password_activate(
    env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with worker_for(env.client, settings, store):
        rid = await register(capsys, "cli")
        assert len(rid) == 32

        assert await set_password(monkeypatch, rid) == 0
        assert "link_number" in capsys.readouterr().out
        (mail,) = await smtpd.wait_for(1)
        token = activation_token(mail)

        assert await ebok("activate", token) == 0
        assert capsys.readouterr().out.strip() == "activated"
        await smtpd.wait_for(2)  # the welcome mail: the workflow has finished
        assert await ebok("activate", f"https://ebok.test/aktywacja?token={token}") == 3
        assert capsys.readouterr().out.strip() == "already_used"
        assert await ebok("activate", "not-a-token") == 3
        assert capsys.readouterr().out.strip() == "invalid"


@pytest.mark.usefixtures("cli_env")
async def test_bad_input_names_the_field(
    env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert await ebok("register", "not-an-address", "jan.kowalski") == 2
    assert "email:" in capsys.readouterr().err
    assert await ebok("status", "NOT/AN/ID") == 2
    assert "registration_id:" in capsys.readouterr().err
    assert await ebok("status", "0" * 32) == 1  # well-formed, but no such registration
    assert "no such registration" in capsys.readouterr().err

    async with worker_for(env.client, settings, store):
        rid = await register(capsys, "weak")
        monkeypatch.setattr(sys, "stdin", io.StringIO("Qz7!xk\n"))
        argv = ["set-password", rid, "--terms-version", "2026-01", "--accept-terms"]
        assert await ebok(*argv, "--password-stdin") == 2
        err = capsys.readouterr().err
        assert "password:" in err and "Qz7!xk" not in err
        # Without a terminal there is no safe way to ask; the password is never an argument.
        assert await ebok(*argv) == 2
        assert "--password-stdin" in capsys.readouterr().err


@pytest.mark.usefixtures("cli_env")
async def test_status_resend_cancel(
    env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with worker_for(env.client, settings, store):
        rid = await register(capsys, "status")
        assert await ebok("status", rid, "--json") == 0
        status = json.loads(capsys.readouterr().out)
        assert status["registration_id"] == rid and status["status"] == "awaiting_password"

        assert await set_password(monkeypatch, rid) == 0
        capsys.readouterr()
        await smtpd.wait_for(1)
        assert await ebok("resend", rid) == 4  # default cooldown: 180 s
        err = capsys.readouterr().err
        retry_at = datetime.fromisoformat(err.split("retry at ")[1].split()[0])
        assert timedelta(seconds=150) < retry_at - datetime.now(UTC) <= timedelta(seconds=181)

        assert await ebok("status", rid) == 0
        table = capsys.readouterr().out
        assert "awaiting_activation" in table and "links_sent" in table

        assert await ebok("cancel", rid, "--reason", "customer asked by phone", "--json") == 0
        assert json.loads(capsys.readouterr().out)["status"] == "cancelled"


async def test_keygen_makes_a_key_the_settings_accept(
    clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await ebok("keygen") == 0
    line = capsys.readouterr().out.strip()
    ((kid, key),) = parse_codec_keys(line).items()
    assert kid == "k" + datetime.now(UTC).strftime("%Y%m%d") and len(key) == 32
    assert await ebok("keygen", "--kid", "rot-2") == 0
    assert list(parse_codec_keys(capsys.readouterr().out)) == ["rot-2"]
    assert await ebok("keygen", "--kid", "a:b") == 2
    assert "kid:" in capsys.readouterr().err


async def test_config_masks_secrets(
    clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_env.setenv("EBOK_SMTP_PASSWORD", "hunter2-smtp")
    clean_env.setenv("EBOK_DATABASE_URL", "postgresql://ebok:hunter2-db@db.internal/ebok")
    clean_env.setenv("EBOK_SMTP_PORT", "2525")
    assert await ebok("config") == 0
    out = capsys.readouterr().out
    assert "hunter2" not in out
    assert "EBOK_SMTP_PASSWORD" in out and "***" in out
    assert any(line.split()[:2] == ["EBOK_SMTP_PORT", "2525"] for line in out.splitlines())
    assert await ebok("config", "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["EBOK_SMTP_PASSWORD"] == "***" and shown["EBOK_CODEC_KEYS"] is None
    assert "hunter2" not in shown["EBOK_DATABASE_URL"]


async def test_config_bad_value_names_the_variable(
    clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_env.setenv("EBOK_SMTP_PORT", "99999")
    clean_env.setenv("EBOK_CODEC_KEYS", "k1:not-a-secret-key-worth-leaking")
    assert await ebok("config") == 2
    err = capsys.readouterr().err
    assert "EBOK_SMTP_PORT" in err and "EBOK_CODEC_KEYS" in err
    assert "not-a-secret" not in err  # rejected values are never echoed


async def test_migrate_creates_tables(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "fresh.db"
    clean_env.setenv("EBOK_DATABASE_URL", f"sqlite:///{path}")
    assert await ebok("migrate") == 0
    assert str(path) in capsys.readouterr().out
    with sqlite3.connect(path) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert {"registrations", "accounts", "alembic_version"} <= tables
    assert await ebok("migrate") == 0  # already at head: nothing to do, no error


class Executed(BaseException):
    """Stands in for the process image being replaced (not an Exception: main catches those)."""


@pytest.mark.parametrize(("command", "extra"), [("worker", []), ("dev", ["--dev"])])
async def test_worker_and_dev_execute_worker_module(
    monkeypatch: pytest.MonkeyPatch, command: str, extra: list[str]
) -> None:
    def execv(path: str, argv: list[str]) -> None:
        raise Executed(path, argv)

    monkeypatch.setattr(os, "execv", execv)
    with pytest.raises(Executed) as done:
        main([command])
    path, argv = done.value.args
    assert path == sys.executable
    assert argv[0] == sys.executable and argv[-2 - len(extra) :] == ["-m", "worker", *extra]


async def test_help_and_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(c in out for c in ("set-password", "keygen", "exit codes"))
    assert main(["set-password", "abc", "--terms-version", "2026-01"]) == 2
    assert "--accept-terms" in capsys.readouterr().err
