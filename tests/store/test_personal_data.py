"""The registry of an account's personal data (ebok/store/personal_data.py): the export shows
one account's data and nothing of another's, the erasure touches only that account and may
run twice, and every table that names an account or holds an address is declared. SQLite
and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest
from temporalio.client import Client

from ebok.errors import InvalidInput, NotFound
from ebok.settings import Settings
from ebok.store import tables as t
from ebok.store.consents import Consent
from ebok.store.db import Store
from ebok.store.personal_data import REGISTRY, erase_account, export_account, owner_of
from facade.client import EbokClient
from tests.conftest import TEST_TOKEN_KEY, make_settings
from tests.factories import a_linked_account
from tests.store.scan import scan_store

# Columns that make a table hold an account's personal data.
PERSONAL_COLUMNS = {"account_id", "email", "login", "phone", "password_hash"}


async def an_account_with_everything(store: Store) -> dict[str, str]:
    """A linked account with a consent, an outage report with a note, a link and a mail."""
    account, email, partner = await a_linked_account(store)
    now = datetime.now(UTC)
    report_id = f"outage-{uuid.uuid4().hex[:20]}"
    async with store.begin() as uow:
        await uow.consents.grant(
            Consent(
                id=f"{partner.number}.{uuid.uuid4().hex[:16]}",
                partner_number=partner.number,
                account_id=account,
                email=email,
                language="pl",
                terms_version="2026-01",
                channel="web",
                requested_at=now,
                granted_at=now,
                withdrawn_at=None,
                withdrawn_channel=None,
            )
        )
        await uow.conn.execute(
            t.outage_reports.insert().values(
                id=report_id,
                reporter_key=f"account:{account}",
                account_id=account,
                household=True,
                email=email,
                language="pl",
                ppe=partner.ppes[0],
                description="Brak prądu od rana",
                reported_at=now,
            )
        )
        await uow.outages.add_note(report_id, "Sąsiedzi też nie mają", now)
        await uow.tokens.issue(
            "deletion", account, 1, now, now + timedelta(days=3), TEST_TOKEN_KEY.encode()
        )
        await uow.mail.record(f"<welcome.{account}.1@x>", "welcome", account, now, "Witamy")
        login = (await uow.accounts.get(account)).login  # type: ignore[union-attr]
    return {
        "account": account,
        "email": email,
        "login": login,
        "partner": partner.number,
        "report": report_id,
    }


@pytest.mark.asyncio(loop_scope="session")
async def test_the_export_holds_the_account_and_nothing_of_another(store: Store) -> None:
    mine = await an_account_with_everything(store)
    other = await an_account_with_everything(store)
    async with store.begin() as uow:
        owner = await owner_of(uow.conn, mine["account"])
        assert owner is not None
        exported = await export_account(uow.conn, owner)
    text = json.dumps(exported, ensure_ascii=False)
    assert exported["profile"][0]["email"] == mine["email"]
    assert exported["profile"][0]["login"] == mine["login"]
    assert exported["partner_links"] == [
        {
            "partner_number": mine["partner"],
            "linked_at": exported["partner_links"][0]["linked_at"],
            "method": "invoice",
        }  # fmt: skip
    ]
    assert exported["einvoice_consents"][0]["terms_version"] == "2026-01"
    assert exported["outage_reports"][0]["description"] == "Brak prądu od rana"
    assert exported["outage_report_notes"][0]["text"] == "Sąsiedzi też nie mają"
    assert exported["links"][0]["purpose"] == "deletion"
    assert [(m["kind"], m["subject"]) for m in exported["mails_sent"]] == [("welcome", "Witamy")]
    assert "password_hash" not in text and "salt" not in text and "token_hash" not in text
    for value in other.values():
        assert value not in text


@pytest.mark.asyncio(loop_scope="session")
async def test_the_erasure_touches_one_account_and_may_run_twice(store: Store) -> None:
    mine = await an_account_with_everything(store)
    other = await an_account_with_everything(store)
    at = datetime.now(UTC)
    async with store.begin() as uow:
        owner = await owner_of(uow.conn, mine["account"])
        assert owner is not None
        done = await erase_account(uow.conn, owner, at)
        again = await erase_account(uow.conn, owner, at)
    assert done["accounts"] == 1 and done["partner_links"] == 1 and done["outage_reports"] == 1
    assert again["accounts"] == 0 and again["partner_links"] == 0
    assert await scan_store(store, {"email": mine["email"], "login": mine["login"]}) == []
    left = await scan_store(store, {"email": other["email"]})
    assert {table for table, _, _ in left} >= {"accounts", "einvoice_consents", "outage_reports"}
    async with store.begin() as uow:
        assert await owner_of(uow.conn, mine["account"]) is None
        assert await uow.billing.partners_of_account(other["account"]) == [other["partner"]]
        history = await uow.consents.history(mine["partner"])
        assert history[0].email == "" and history[0].terms_version == "2026-01"


def test_every_table_holding_personal_columns_is_declared() -> None:
    declared = {item.table.name for item in REGISTRY}
    holding = {
        table.name
        for table in t.metadata.sorted_tables
        if PERSONAL_COLUMNS & {c.name for c in table.columns}
    }
    assert holding <= declared, f"declare in ebok/store/personal_data.py: {holding - declared}"
    for item in REGISTRY:
        assert set(item.columns) <= {c.name for c in item.table.columns}, item.section
        if item.erase != "delete":
            assert item.kept_because, f"{item.section}: rows kept need the law that keeps them"


@pytest.mark.asyncio(loop_scope="session")
async def test_the_facade_export_names_bad_input(store: Store, db_url: str) -> None:
    settings: Settings = make_settings(db_url, 1025)
    ebok = EbokClient(cast(Client, None), store, settings)
    mine = await an_account_with_everything(store)
    exported = await ebok.export_account_data(mine["account"])
    assert exported.account_id == mine["account"]
    assert "einvoice_consents" in exported.kept_after_deletion
    with pytest.raises(InvalidInput) as bad:
        await ebok.export_account_data("Robert'); DROP TABLE accounts;--")
    assert set(bad.value.errors) == {"account_id"}
    with pytest.raises(NotFound):
        await ebok.export_account_data(uuid.uuid4().hex)
