"""SandboxPayments: the contract, state shared across processes, signing key, failure injection."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sysconfig
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from adapters import registry
from adapters.payments.base import (
    NotificationRejected,
    PaymentRejected,
    PaymentStatus,
    PaymentUnavailable,
)
from adapters.payments.sandbox import KEY_FILE, SandboxPayments
from adapters.testing import PaymentProviderContract, Settle, sample_payment
from ebok.settings import Settings
from entrypoints.cli.main import main


@pytest_asyncio.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[SandboxPayments]:
    payments = SandboxPayments(tmp_path / "sandbox")
    yield payments
    await payments.aclose()


class TestSandboxPaymentsContract(PaymentProviderContract):
    @pytest.fixture
    def provider(self, sandbox: SandboxPayments) -> SandboxPayments:
        return sandbox

    @pytest.fixture
    def settle(self, sandbox: SandboxPayments) -> Settle:
        async def settle(ref: str, status: PaymentStatus) -> tuple[bytes, dict[str, str]]:
            if status is PaymentStatus.COMPLETED:
                return await sandbox.complete(ref)
            if status is PaymentStatus.WAITING_FOR_CONFIRMATION:
                return await sandbox.authorize(ref)
            assert status is PaymentStatus.CANCELED, "the sandbox settles no payment to pending"
            return await sandbox.cancel(ref)

        return settle


def test_payment_adapters_are_registered(tmp_path: Path) -> None:
    assert {"sandbox", "payu"} <= set(registry.names("payments"))
    assert registry.load("payments", "sandbox") is SandboxPayments
    built = registry.build("payments", "sandbox", Settings(payments_sandbox_dir=tmp_path))
    assert isinstance(built, SandboxPayments) and built.folder == tmp_path
    assert Settings().payments_adapter == "sandbox"


async def test_a_second_instance_sees_the_same_payments(tmp_path: Path) -> None:
    worker, cli = SandboxPayments(tmp_path), SandboxPayments(tmp_path)
    created = await worker.create_payment(sample_payment())
    body, headers = await cli.complete(created.provider_ref)
    assert (await worker.payment_status(created.provider_ref)).status is PaymentStatus.COMPLETED
    assert (await worker.verify_notification(body, headers)).status is PaymentStatus.COMPLETED
    # The same key at the other instance is the same payment, not a second one.
    request = sample_payment()
    assert (await worker.create_payment(request)) == (await cli.create_payment(request))


async def test_random_key_is_made_once_private_and_shared(tmp_path: Path) -> None:
    first = SandboxPayments(tmp_path)
    key_file = tmp_path / KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_bytes()
    assert len(key.strip()) == 64
    SandboxPayments(tmp_path)
    assert key_file.read_bytes() == key
    created = await first.create_payment(sample_payment())
    body, headers = await first.complete(created.provider_ref)
    # Another folder has another key: its notifications are not believed here.
    stranger = SandboxPayments(tmp_path / "other")
    with pytest.raises(NotificationRejected, match="signature"):
        await stranger.verify_notification(body, headers)


async def test_key_from_settings_signs(tmp_path: Path) -> None:
    settings = Settings(payments_sandbox_dir=tmp_path, payments_sandbox_key="k" * 40)
    one = SandboxPayments.from_settings(settings)
    other = SandboxPayments.from_settings(
        settings.model_copy(update={"payments_sandbox_dir": tmp_path / "b"})
    )
    assert not (tmp_path / KEY_FILE).exists()
    created = await one.create_payment(sample_payment())
    body, headers = await one.complete(created.provider_ref)
    assert (await other.verify_notification(body, headers)).key == created.key
    assert "k" * 40 not in repr(one)


async def test_terminal_states_are_never_undone(sandbox: SandboxPayments) -> None:
    paid = await sandbox.create_payment(sample_payment())
    first = await sandbox.complete(paid.provider_ref)
    assert await sandbox.complete(paid.provider_ref) == first  # a provider's retry, same bytes
    with pytest.raises(PaymentRejected, match="already COMPLETED"):
        await sandbox.cancel(paid.provider_ref)
    gone = await sandbox.create_payment(sample_payment())
    await sandbox.cancel(gone.key)  # our key works as well as the provider ref
    with pytest.raises(PaymentRejected, match="already CANCELED"):
        await sandbox.complete(gone.provider_ref)
    assert (await sandbox.payment_status(gone.provider_ref)).status is PaymentStatus.CANCELED
    with pytest.raises(PaymentRejected, match="no such payment"):
        await sandbox.complete("SBXNOTHING")


async def test_pending_notification_and_body_shape(sandbox: SandboxPayments) -> None:
    request = sample_payment()
    created = await sandbox.create_payment(request)
    body, headers = await sandbox.notification(created.provider_ref)
    event = await sandbox.verify_notification(body, headers)
    assert event.status is PaymentStatus.PENDING and event.occurred_at is None
    order = json.loads(body)["order"]
    assert order["extOrderId"] == request.key and order["totalAmount"] == "24567"
    assert order["currencyCode"] == "PLN" and order["status"] == "NEW"
    assert "jan.kowalski" not in body.decode()  # the e-mail is given to the provider, not kept
    body, headers = await sandbox.complete(created.provider_ref)
    completed = await sandbox.verify_notification(body, headers)
    assert completed.occurred_at is not None and completed.event_id != event.event_id
    signature = headers["OpenPayU-Signature"]
    assert signature.startswith("sender=ebok-sandbox;signature=")
    assert signature.endswith(";algorithm=SHA-256;content=DOCUMENT")


async def test_fail_next_then_works(sandbox: SandboxPayments) -> None:
    sandbox.fail_next(2)
    for _ in range(2):
        with pytest.raises(PaymentUnavailable, match="injected"):
            await sandbox.create_payment(sample_payment())
    sandbox.fail_next(1, PaymentRejected("no"))
    with pytest.raises(PaymentRejected):
        await sandbox.payment_status("x")
    created = await sandbox.create_payment(sample_payment())
    assert (await sandbox.payment_status(created.provider_ref)).status is PaymentStatus.PENDING
    assert sandbox.calls == 5


async def test_failure_rate_and_latency(tmp_path: Path) -> None:
    flaky = SandboxPayments(tmp_path, failure_rate=1.0)
    with pytest.raises(PaymentUnavailable, match="random failure"):
        await flaky.create_payment(sample_payment())
    half = SandboxPayments(tmp_path, failure_rate=0.5, seed=7)
    outcomes = []
    for _ in range(40):
        try:
            await half.create_payment(sample_payment())
            outcomes.append(True)
        except PaymentUnavailable:
            outcomes.append(False)
    assert 5 < outcomes.count(False) < 35
    slow = SandboxPayments(tmp_path, latency=timedelta(milliseconds=200))
    started = time.monotonic()
    await slow.create_payment(sample_payment())
    assert time.monotonic() - started >= 0.2
    settings = Settings(
        payments_sandbox_dir=tmp_path,
        payments_sandbox_failure_rate=0.25,
        payments_sandbox_latency=timedelta(seconds=1),
    )
    built = SandboxPayments.from_settings(settings)
    assert (built.failure_rate, built.latency) == (0.25, timedelta(seconds=1))
    with pytest.raises(ValueError):
        SandboxPayments(tmp_path, failure_rate=1.5)


async def test_concurrent_creates_under_one_key_make_one_payment(tmp_path: Path) -> None:
    instances = [SandboxPayments(tmp_path) for _ in range(4)]
    request = sample_payment()
    made = await asyncio.gather(*(p.create_payment(request) for p in instances for _ in range(3)))
    assert len({m.provider_ref for m in made}) == 1


async def test_cli_completes_in_another_process(tmp_path: Path) -> None:
    sandbox = SandboxPayments(tmp_path)
    created = await sandbox.create_payment(sample_payment())
    ebok = Path(sysconfig.get_path("scripts")) / "ebok"
    env = os.environ | {"EBOK_PAYMENTS_SANDBOX_DIR": str(tmp_path)}
    done = subprocess.run(
        [str(ebok), "payments", "sandbox-complete", created.provider_ref],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    event = await sandbox.verify_notification(printed["body"].encode(), printed["headers"])
    assert event.status is PaymentStatus.COMPLETED and event.provider_ref == created.provider_ref
    assert (await sandbox.payment_status(created.provider_ref)).status is PaymentStatus.COMPLETED


async def test_cli_cancel_and_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EBOK_PAYMENTS_SANDBOX_DIR", str(tmp_path))
    sandbox = SandboxPayments(tmp_path)
    created = await sandbox.create_payment(sample_payment())
    # main() runs its own event loop: give it a thread of its own.
    code = await asyncio.to_thread(main, ["payments", "sandbox-cancel", created.key])
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    event = await sandbox.verify_notification(printed["body"].encode(), printed["headers"])
    assert event.status is PaymentStatus.CANCELED
    code = await asyncio.to_thread(main, ["payments", "sandbox-complete", created.key])
    captured = capsys.readouterr()
    assert code == 1 and "already CANCELED" in captured.err and captured.out == ""
    held = await sandbox.create_payment(sample_payment())
    code = await asyncio.to_thread(main, ["payments", "sandbox-authorize", held.provider_ref])
    printed = json.loads(capsys.readouterr().out)
    event = await sandbox.verify_notification(printed["body"].encode(), printed["headers"])
    assert code == 0 and event.status is PaymentStatus.WAITING_FOR_CONFIRMATION
    await sandbox.capture_payment(held.provider_ref)
    assert (await sandbox.payment_status(held.provider_ref)).status is PaymentStatus.COMPLETED
    code = await asyncio.to_thread(main, ["payments", "sandbox-complete", "SBXNOPE"])
    assert code == 1 and "no such payment" in capsys.readouterr().err
    monkeypatch.setenv("EBOK_PAYMENTS_SANDBOX_FAILURE_RATE", "2")
    code = await asyncio.to_thread(main, ["payments", "sandbox-complete", created.key])
    assert code == 2 and "EBOK_PAYMENTS_SANDBOX_FAILURE_RATE" in capsys.readouterr().err
