"""The formal demand as the customer reads it (Energy Law art. 6b ust. 3, 6c): the seller, every
overdue and current amount across the customer's open invoices, the day after which supply may
be suspended, how to pay and the right to complain; and, for a business debtor, commercial
interest and the recovery compensation (Act of 8 March 2013, art. 10). Time-skipping server,
real store and SMTP."""

from __future__ import annotations

import subprocess
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from temporalio.testing import WorkflowEnvironment

from activities.mail import local_time
from ebok.ids import format_nrb
from ebok.interest import late_interest
from ebok.models import invoice as m
from ebok.money import Money
from ebok.settings import Settings
from ebok.store.db import Store
from entrypoints.devsmtp import DevSmtpServer
from facade.client import EbokClient
from tests.conftest import make_settings, worker_for
from tests.mailbox import addressed_to, body
from tests.workflows.invoices import an_invoice

EUR_RATE = "4.2500"  # a test figure, not a published NBP rate
PDFTOTEXT = "/usr/bin/pdftotext"


def pdf_text_of(mail: EmailMessage, tmp_path: Path) -> str:
    (pdf,) = [a for a in mail.iter_attachments() if a.get_content_type() == "application/pdf"]
    path = tmp_path / "invoice.pdf"
    path.write_bytes(pdf.get_content())
    done = subprocess.run(
        [PDFTOTEXT, "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True, timeout=30
    )
    return done.stdout.decode()


def month_end_before(day: date) -> date:
    return day.replace(day=1) - timedelta(days=1)


async def test_demand_names_seller_all_arrears_deadline_payment_and_complaint_right(
    skipping_env: WorkflowEnvironment,
    settings: Settings,
    store: Store,
    smtpd: DevSmtpServer,
    ebok_for: Any,
    tmp_path: Path,
) -> None:
    due = datetime.now(UTC).date() + timedelta(days=14)
    rates = f"{month_end_before(due).isoformat()}:{EUR_RATE}"
    settings = make_settings(settings.database_url, smtpd.port, eur_pln_rates=rates)
    ebok: EbokClient = ebok_for(skipping_env.client, settings)
    company = await an_invoice(store, business=True, gross=600_000)  # 6 000 zł: 70 euro
    current = await an_invoice(store, partner=company.partner, consent=False, due_in=60)
    household = await an_invoice(store)
    assert company.email and household.email
    async with worker_for(skipping_env.client, settings, store):
        for billed in (company, current, household):
            await ebok.issue_invoice(billed.invoice, electronic_notices=True)
        await smtpd.wait_for(3)
        await skipping_env.sleep(timedelta(days=14 + 30, hours=1))
        status = await ebok.invoice_status(company.number)
        plain = await ebok.invoice_status(household.number)
        mails = await smtpd.wait_for(9)  # 4 each for the demanded two, 1 for the current
    assert status.state is m.State.DEMANDED and status.notice_until is not None
    assert (status.debtor, status.interest_basis) == ("business", "commercial")
    assert status.recovery_compensation == Money(29750)  # 70 × 4.2500 zł
    assert (plain.debtor, plain.interest_basis, plain.recovery_compensation) == (
        "consumer",
        "statutory",
        None,
    )

    (demand,) = [x for x in addressed_to(mails, company.email) if "Wezwanie" in x["Subject"]]
    text = body(demand)
    assert settings.invoice_seller in text
    # Every open invoice of the customer, the overdue one and the one not yet due.
    assert f"faktura {company.number}" in text and f"{Money(600_000)} (zaległa)" in text
    assert f"faktura {current.number}" in text and "(bieżąca)" in text
    assert f"Zaległe razem: {Money(600_000)}" in text
    assert local_time(status.notice_until) in text and "art. 6b ust. 3" in text
    assert format_nrb(company.invoice["nrb"]) in text  # how to pay
    assert "art. 6c" in text and "uważa się za uwzględnioną" in text
    assert "w transakcjach handlowych" in text and "70 euro" in text and str(Money(29750)) in text

    # The e-invoice's PDF names the business buyer by its NIP, and the seller by ours.
    async with store.begin() as uow:
        buyer = await uow.billing.partner(company.partner.number)
    assert buyer is not None and buyer.nip
    e_invoice = f"Faktura {company.number} na kwotę"
    (issued,) = [x for x in addressed_to(mails, company.email) if e_invoice in x["Subject"]]
    pdf_text = pdf_text_of(issued, tmp_path).replace("-", "")
    assert f"NIP: {buyer.nip}" in pdf_text and f"NIP: {settings.invoice_seller_nip}" in pdf_text

    # The balance counts a business partner's interest at the commercial rate too.
    on = due + timedelta(days=30)
    balance = await ebok.balance(company.partner.number, on)
    (overdue,) = [i for a in balance.accounts for i in a.open_invoices if i.overdue]
    table = settings.commercial_interest_table
    assert overdue.interest == late_interest(Money(600_000), due, on, table)
    assert overdue.interest > late_interest(Money(600_000), due, on, settings.late_interest_table)

    (plain_demand,) = [
        x for x in addressed_to(mails, household.email) if "Wezwanie" in x["Subject"]
    ]
    plain_text = body(plain_demand)
    assert "rekompensata" not in plain_text and "transakcjach handlowych" not in plain_text
    assert "art. 6c" in plain_text and f"faktura {household.number}" in plain_text
