"""``ebok dso …`` against a sandbox DSO state file (no worker), its status webhooks, and
``ebok payments sandbox-complete --deliver`` into the webhook receiver."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.operator.base import IncidentState, IncidentStatus
from adapters.operator.simulation import DsoSimulation
from adapters.operator.webhook import verify_status
from adapters.payments.base import PaymentRequest
from adapters.payments.sandbox import SandboxPayments
from ebok.models.balance import NotificationOutcome
from ebok.models.invoice import IssueInvoice
from ebok.money import Money
from entrypoints.cli.dso import parse_when
from entrypoints.cli.invoices import demo_invoice
from entrypoints.webhooks.operator import run_webhook_server
from entrypoints.webhooks.payments import run_webhooks
from tests.test_cli import clean_env, ebok  # noqa: F401 (fixtures)

SECRET = "dev-dso-secret"


@pytest.fixture
def state(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> Path:  # noqa: F811
    path = tmp_path / "dso.json"
    clean_env.setenv("EBOK_OPERATOR_SANDBOX_STATE", str(path))
    return path


def _out(capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    result: dict[str, str] = json.loads(capsys.readouterr().out)
    return result


@pytest.mark.usefixtures("clean_env")
async def test_without_a_state_file_the_commands_say_what_to_set(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert await ebok("dso", "list") == 2
    assert "EBOK_OPERATOR_SANDBOX_STATE" in capsys.readouterr().err


async def test_storm_through_restoration_as_the_worker_sees_it(
    state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await ebok("dso", "storm", "WARSZAWA-MOKOTOW", "--eta", "+2h", "--json") == 0
    storm = _out(capsys)
    ref = storm["reference"]
    assert storm["area"] == "warszawa-mokotow" and storm["state"] == "open"  # the DSO's name
    assert await ebok("dso", "storm", "warszawa-mokotow", "--json") == 0
    assert _out(capsys)["reference"] == ref  # the open storm there, not a second one
    for action, expected in (("ack", "acknowledged"), ("crew", "crew_dispatched")):
        assert await ebok("dso", action, ref, "--json") == 0
        assert _out(capsys)["state"] == expected
    assert await ebok("dso", "eta", ref, "2030-01-01T12:00+01:00", "--json") == 0
    assert _out(capsys)["expected_restoration"] == "2030-01-01T11:00:00+00:00"
    assert await ebok("dso", "restore", ref, "--json") == 0
    assert _out(capsys)["state"] == "restored"

    # The worker's side of the file: what its sandbox adapter polls.
    worker_side = DsoSimulation(path=state)
    status = await worker_side.incident_status(ref)
    assert status.state is IncidentState.RESTORED and status.restored_at is not None
    assert status.expected_restoration == datetime(2030, 1, 1, 11, tzinfo=UTC)

    assert await ebok("dso", "ack", ref) == 1  # a restored incident does not go back
    assert "restored" in capsys.readouterr().err
    assert await ebok("dso", "list", "--json") == 0
    assert json.loads(capsys.readouterr().out) == []  # ended: only with --all
    assert await ebok("dso", "list", "--all", "--json") == 0
    assert [row["reference"] for row in json.loads(capsys.readouterr().out)] == [ref]


async def test_plan_cancel_list_and_bad_input(
    state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await ebok("dso", "plan", "warszawa-wola", "+1h", "+3h", "--note", "trafo") == 0
    planned = capsys.readouterr().out
    assert "planned" in planned and "acknowledged" in planned
    assert await ebok("dso", "storm", "warszawa-ursynow") == 0
    capsys.readouterr()
    assert await ebok("dso", "list", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert [row["area"] for row in listed] == ["warszawa-wola", "warszawa-ursynow"]  # newest first
    storm = listed[1]["reference"]
    assert await ebok("dso", "cancel", storm, "--note", "bezpiecznik klienta", "--json") == 0
    cancelled = _out(capsys)
    assert cancelled["state"] == "cancelled" and cancelled["note"] == "bezpiecznik klienta"
    assert await ebok("dso", "list", "--json") == 0
    assert len(json.loads(capsys.readouterr().out)) == 1
    assert await ebok("dso", "list", "--all", "--json") == 0
    assert len(json.loads(capsys.readouterr().out)) == 2

    assert await ebok("dso", "storm", "atlantis") == 2
    assert "area: unknown" in capsys.readouterr().err
    assert await ebok("dso", "plan", "warszawa-wola", "+3h", "+1h") == 1
    assert "must end after it starts" in capsys.readouterr().err
    assert await ebok("dso", "eta", storm, "tomorrow") == 2
    assert "WHEN" in capsys.readouterr().err
    assert await ebok("dso", "storm", "warszawa-wola", "--eta", "soon") == 2  # argparse
    assert await ebok("dso", "restore", "SBX-I-999999") == 1
    assert "SBX-I-999999" in capsys.readouterr().err


def test_when_takes_relative_and_iso_times() -> None:
    now = datetime(2026, 11, 26, 12, tzinfo=UTC)
    assert parse_when("+90m", now) == now + timedelta(minutes=90)
    assert parse_when("+1d", now) == now + timedelta(days=1)
    assert parse_when("2026-12-01T08:00Z", now) == datetime(2026, 12, 1, 8, tzinfo=UTC)
    with pytest.raises(ValueError, match=r"\+2h"):
        parse_when("in two hours", now)


class _Incidents:
    """The facade's side of the status webhook: which statuses reached it."""

    def __init__(self) -> None:
        self.statuses: list[str] = []

    async def operator_status_changed(self, status: object) -> str:
        self.statuses.append(f"{status.reference} {status.state}")  # type: ignore[attr-defined]
        return "incident-WARSZAWA-MOKOTOW-x"


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, _Incidents]]:
    incidents = _Incidents()

    def verify(body: bytes, headers: Mapping[str, str]) -> IncidentStatus:
        return verify_status(body, headers, SECRET)

    runner = await run_webhook_server(verify, incidents, "127.0.0.1", 0)  # type: ignore[arg-type]
    host, port = runner.addresses[0][:2]
    yield f"http://{host}:{port}/operator/status", incidents
    await runner.cleanup()


async def test_changes_are_pushed_as_signed_status_webhooks(
    state: Path,
    clean_env: pytest.MonkeyPatch,  # noqa: F811
    receiver: tuple[str, _Incidents],
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, incidents = receiver
    clean_env.setenv("EBOK_OPERATOR_WEBHOOK_SECRET", SECRET)
    assert await ebok("dso", "storm", "warszawa-mokotow", "--notify", url, "--json") == 0
    ref = _out(capsys)["reference"]
    assert await ebok("dso", "ack", ref, "--notify", url) == 0
    assert "→ incident-WARSZAWA-MOKOTOW-x" in capsys.readouterr().err
    assert incidents.statuses == [f"{ref} open", f"{ref} acknowledged"]  # verified, in order

    clean_env.setenv("EBOK_OPERATOR_WEBHOOK_SECRET", "not-the-dsos-secret")
    assert await ebok("dso", "restore", ref, "--notify", url) == 0  # the DSO changed anyway
    assert "answered 401" in capsys.readouterr().err
    assert len(incidents.statuses) == 2
    assert await ebok("dso", "list", "--notify", "http://127.0.0.1:9/x") == 0  # no change


def test_the_demo_invoice_is_valid_and_dated_for_a_demo() -> None:
    today = datetime(2027, 3, 10, tzinfo=UTC).date()
    invoice = IssueInvoice.model_validate(demo_invoice(today))
    assert invoice.partner_number == "1000000101" and invoice.gross == Money.parse("245,67")
    assert invoice.issue_date == today and invoice.due_date == today + timedelta(days=14)
    assert (invoice.period_from, invoice.period_to) == (
        today.replace(month=2, day=1),
        today.replace(month=2, day=28),
    )
    assert demo_invoice(today, "FV/1/2")["number"] == "FV/1/2"


async def test_deliver_posts_the_signed_notification_to_the_receiver(
    clean_env: pytest.MonkeyPatch,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    clean_env.setenv("EBOK_PAYMENTS_SANDBOX_DIR", str(tmp_path / "payments"))
    provider = SandboxPayments(tmp_path / "payments")
    created = await provider.create_payment(
        PaymentRequest(
            key="inv~FV/2026/12/1",
            invoice_number="FV/2026/12/1",
            amount=Money.parse("245,67"),
            description="FV/2026/12/1",
            continue_url="http://localhost:8000/",
        )
    )
    believed: list[str] = []

    class Sink:  # the facade's part: believe only what the provider signed
        async def payment_notification(
            self, body: bytes, headers: dict[str, str]
        ) -> NotificationOutcome:
            verified = await provider.verify_notification(body, headers)
            believed.append(f"{verified.provider_ref} {verified.status.value}")
            return NotificationOutcome(outcome="signalled", invoice_number="FV/2026/12/1")

    runner = await run_webhooks(Sink(), "sandbox", "127.0.0.1", 0)
    host, port = runner.addresses[0][:2]
    clean_env.setenv("EBOK_WEBHOOK_BIND", f"{host}:{port}")
    try:
        assert await ebok("payments", "sandbox-complete", created.provider_ref, "--deliver") == 0
        assert json.loads(capsys.readouterr().out)["outcome"] == "signalled"
        assert believed == [f"{created.provider_ref} completed"]
        assert (
            await ebok(
                "payments",
                "sandbox-complete",
                "inv~FV/2026/12/1",
                "--deliver",
                "--to",
                f"http://{host}:{port}/payments/payu/notify",
            )
            == 1
        )
        assert "answered 404" in capsys.readouterr().err
    finally:
        await runner.cleanup()
        await provider.aclose()
    assert await ebok("payments", "sandbox-complete", created.provider_ref, "--deliver") == 1
    assert "webhook receiver running" in capsys.readouterr().err
