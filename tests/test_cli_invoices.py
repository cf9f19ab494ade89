"""``ebok invoice``, ``ebok import payments``, ``ebok balance`` and ``ebok paper export``
against the dev server, SMTP and the store."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from ebok.models import invoice as m
from ebok.settings import Settings
from ebok.store.db import Store
from entrypoints.devsmtp import DevSmtpServer
from facade.bank_statement import IncomingTransfer, individual_nrb
from tests.bank_files import write_camt053, write_mt940
from tests.conftest import worker_for
from tests.test_cli import clean_env, cli_env, ebok  # noqa: F401 (fixtures)
from tests.workflows.invoices import BANK, Billed, an_invoice, delivered


@pytest.mark.usefixtures("cli_env")
async def test_issue_pay_by_statement_balance_and_paper_export(
    env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    clean_env: pytest.MonkeyPatch,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    clean_env.setenv("EBOK_PAYMENTS_SANDBOX_DIR", str(settings.payments_sandbox_dir))
    billed = await an_invoice(store, consent=False, gross=12345)
    invoice = tmp_path / "invoice.json"
    invoice.write_text(json.dumps(billed.invoice, default=str))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**billed.invoice, "gross": 1}, default=str))
    today = datetime.now(UTC).date().isoformat()
    statement = tmp_path / "statement.csv"
    statement.write_text(
        "booking_date,amount,currency,target_account,sender_account,sender_name,title,"
        f'bank_reference\n{today},"123,45",PLN,{billed.invoice["nrb"]},,Jan K,'
        f"{billed.number},BNK-CLI-{billed.number[-8:]}\n"
    )
    handle = env.client.get_workflow_handle(billed.workflow_id, result_type=m.InvoiceStatus)
    async with worker_for(env.client, settings, store):
        assert await ebok("invoice", "issue", str(bad)) == 2
        assert "error: gross: must equal net + vat" in capsys.readouterr().err
        assert await ebok("invoice", "issue", str(invoice)) == 0
        assert capsys.readouterr().out.strip() == billed.workflow_id
        assert await ebok("invoice", "issue", str(invoice), "--json") == 0  # the same invoice
        capsys.readouterr()
        assert await ebok("invoice", "status", billed.number, "--json") == 0
        assert json.loads(capsys.readouterr().out)["number"] == billed.number
        await delivered(env.client, billed.number)
        assert await ebok("invoice", "pay", billed.number, "--customer-ip", "localhost") == 2
        assert "customer_ip: is not an IPv4 or IPv6 address" in capsys.readouterr().err
        assert await ebok("invoice", "pay", billed.number, "--customer-ip", "203.0.113.7") == 0
        assert "https://sandbox-payments.invalid/pay/" in capsys.readouterr().out

        assert await ebok("import", "payments", str(statement)) == 0
        assert "1 signalled" in capsys.readouterr().out
        done = await asyncio.wait_for(handle.result(), timeout=30)
        assert done.state is m.State.PAID
        assert await ebok("invoice", "pay", billed.number, "--customer-ip", "2001:db8::1") == 1
        assert "nothing to pay" in capsys.readouterr().err
    assert await ebok("balance", billed.partner.number) == 0
    assert f"paid 123,45\u00a0zł on {today} for {billed.number}" in capsys.readouterr().out
    assert await ebok("balance", billed.partner.number, "--json") == 0
    (account,) = json.loads(capsys.readouterr().out)["accounts"]
    assert account["outstanding"] == 0 and account["payments"][0]["amount"] == 12345

    out = tmp_path / "paper.csv"
    assert await ebok("paper", "export", "--out", str(out)) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    mine = [r for r in rows if r["invoice_number"] == billed.number]
    assert [r["kind"] for r in mine] == ["issued"] and mine[0]["partner_name"]
    assert await ebok("paper", "export", "--out", str(out)) == 0  # exported once
    assert billed.number not in out.read_text()


def paying(billed: Billed, reference: str, title: str) -> IncomingTransfer:
    return IncomingTransfer.model_validate(
        {
            "booking_date": datetime.now(UTC).date().isoformat(),
            "amount": billed.invoice["gross"],
            "currency": "PLN",
            "target_account": billed.invoice["nrb"],
            "sender_account": "67102028920000123456789012",
            "sender_name": "JAN KOWALSKI",
            "title": title,
            "bank_reference": reference,
        }
    )


@pytest.mark.usefixtures("cli_env")
async def test_import_payments_reads_mt940_and_camt053(
    env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    clean_env: pytest.MonkeyPatch,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    clean_env.setenv("EBOK_PAYMENTS_SANDBOX_DIR", str(settings.payments_sandbox_dir))
    first = await an_invoice(store, consent=False, gross=24567)
    second = await an_invoice(store, consent=False, gross=10000)
    tag = first.number[-8:]
    # "Zaplata za FV/2026/12/…" is longer than a ZBP subfield: the number is split in two.
    mt940 = tmp_path / "wyciag.sta"
    text = write_mt940([paying(first, f"MT{tag}", f"Zaplata za {first.number}")])
    assert f"~20Zaplata za {first.number[:16]}\r\n~21{first.number[16:]}" in text
    mt940.write_bytes(text.encode("cp852"))
    camt = tmp_path / "wyciag.xml"
    camt.write_text(write_camt053([paying(second, f"CA{tag}", second.number)], "02"))
    async with worker_for(env.client, settings, store):
        for billed in (first, second):
            invoice = tmp_path / f"{billed.number[-8:]}.json"
            invoice.write_text(json.dumps(billed.invoice, default=str))
            assert await ebok("invoice", "issue", str(invoice)) == 0
            await delivered(env.client, billed.number)
        capsys.readouterr()

        assert await ebok("import", "payments", str(mt940), "--json") == 0
        assert json.loads(capsys.readouterr().out)["signalled"] == [f"MT{tag}"]
        assert await ebok("import", "payments", str(camt), "--format", "mt940") == 1
        assert "MT940: no statement" in capsys.readouterr().err
        assert await ebok("import", "payments", str(camt), "--format", "camt053") == 0
        assert "1 signalled" in capsys.readouterr().out
        for billed in (first, second):
            handle = env.client.get_workflow_handle(billed.workflow_id, result_type=m.InvoiceStatus)
            done = await asyncio.wait_for(handle.result(), timeout=30)
            assert done.state is m.State.PAID and done.paid.grosze == billed.invoice["gross"]
        assert await ebok("import", "payments", str(mt940)) == 0  # loaded twice: paid once
        assert "0 signalled, 1 already applied" in capsys.readouterr().out


@pytest.mark.usefixtures("cli_env")
async def test_a_transfer_no_invoice_takes_is_listed_to_book_by_hand(
    env: WorkflowEnvironment,
    settings: Settings,
    store: Store,  # the migrated database the command uses
    clean_env: pytest.MonkeyPatch,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    start = datetime.now(UTC)
    today = start.date().isoformat()
    reference = f"BNK-UNMATCHED-{uuid.uuid4().hex[:8]}"
    nobody = individual_nrb(BANK, "9999999999")  # an individual account no invoice is paid into
    statement = tmp_path / "statement.csv"
    statement.write_text(
        "booking_date,amount,currency,target_account,sender_account,sender_name,title,"
        f'bank_reference\n{today},"50,00",PLN,{nobody},,Jan K,za prad,{reference}\n'
    )
    for _ in range(2):  # loaded twice: listed once
        assert await ebok("import", "payments", str(statement)) == 2
        assert f"unmatched {reference}: no open invoice for that account" in capsys.readouterr().out
    assert await ebok("invoice", "unmatched", "--since", start.isoformat(), "--json") == 0
    listed = [p for p in json.loads(capsys.readouterr().out) if p["reference"] == reference]
    assert [(p["source"], p["amount"], p["why"]) for p in listed] == [
        ("bank", 5000, "no open invoice for that account")
    ]
    assert listed[0]["received_at"].startswith(today)
    assert await ebok("invoice", "unmatched", "--since", start.isoformat()) == 0
    assert f"bank {reference} 50,00\u00a0zł: no open invoice for that account" in (
        capsys.readouterr().out
    )
