"""The partner CSV import on SQLite and PostgreSQL: bad rows named by line and field while the
rest load, conflicts inside a file and against the store, batches, re-import, and the
``ebok import partners`` command. Ids are fresh per test (the database lives for the session)."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import select

from ebok.settings import DEMO_SELLER_NIP
from ebok.store.db import Store
from ebok.store.tables import business_partners, contract_accounts, invoices, points_of_delivery
from entrypoints.cli.main import main
from facade.billing_import import COLUMNS, INVOICE_COLUMNS, ImportFileError, import_partners
from tests.store.test_billing import (
    a_contract_account,
    a_nip,
    a_partner_number,
    a_pesel,
    a_ppe,
    an_invoice_number,
    digits,
)

DEMO = Path(__file__).parents[1] / "ebok" / "demo" / "partners.csv"
HEADER = [*COLUMNS, *INVOICE_COLUMNS]


def a_row(**cells: str) -> dict[str, str]:
    """A valid household row with fresh ids; keyword arguments replace cells."""
    row = {
        "partner_number": a_partner_number(),
        "partner_name": "Jan Kowalski",
        "partner_kind": "household",
        "nip": "",
        "pesel": a_pesel(),
        "contract_account": a_contract_account(),
        "ppe": a_ppe(),
        "legacy_ppe": "",
        "area": "WAW-MOKOTOW",
        "tariff": "G11",
        "invoice_number": an_invoice_number(),
        "invoice_gross": "245,67",
        "invoice_date": "2026-11-05",
    }
    return row | cells


def wrong_check_digit(number: str) -> str:
    return number[:-1] + str((int(number[-1]) + 1) % 10)


def a_business(**cells: str) -> dict[str, str]:
    return a_row(partner_name="Kwiaciarnia Łąka sp. z o.o.", partner_kind="business") | {
        "nip": a_nip(),
        "pesel": "",
        **cells,
    }


def as_csv(rows: list[dict[str, str]], header: list[str] = HEADER, delimiter: str = ",") -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)  # CRLF, as spreadsheets write it
    writer.writerow(header)
    writer.writerows([[row.get(name, "") for name in header] for row in rows])
    return out.getvalue()


async def load(store: Store, rows: list[dict[str, str]], batch_size: int = 500) -> Any:
    return await import_partners(store, io.StringIO(as_csv(rows)), batch_size)


async def stored(store: Store, rows: list[dict[str, str]]) -> dict[str, set[Any]]:
    """What the store holds under any key the rows mention."""
    keys = {name: {r[name].strip() for r in rows} for name in HEADER}
    async with store.begin() as uow:
        c = uow.conn

        async def found(query: Any) -> set[Any]:
            return {tuple(row) for row in await c.execute(query)}

        return {
            "partners": await found(
                select(business_partners.c.number).where(
                    business_partners.c.number.in_(keys["partner_number"])
                )
            ),
            "accounts": await found(
                select(contract_accounts.c.number, contract_accounts.c.partner_number).where(
                    contract_accounts.c.number.in_(keys["contract_account"])
                )
            ),
            "ppes": await found(
                select(points_of_delivery.c.ppe, points_of_delivery.c.contract_account).where(
                    points_of_delivery.c.ppe.in_(keys["ppe"])
                )
            ),
            "invoices": await found(
                select(invoices.c.number, invoices.c.gross_grosze).where(
                    invoices.c.number.in_(keys["invoice_number"])
                )
            ),
        }


# --- hand-picked cases ---------------------------------------------------------------------------


async def test_demo_file_loads_and_loading_again_changes_nothing(store: Store) -> None:
    first = await import_partners(store, DEMO)
    with DEMO.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    before = await stored(store, rows)
    again = await import_partners(store, DEMO, batch_size=2)
    assert (first.rows_read, first.loaded, first.bad) == (7, 7, [])
    assert (again.rows_read, again.loaded, again.bad) == (7, 7, [])
    assert await stored(store, rows) == before
    assert len(before["partners"]) == 6 and len(before["ppes"]) == 7
    assert ("FV/2026/11/000105", 120499) in before["invoices"]
    async with store.begin() as uow:
        b = uow.billing
        assert await b.partner_of_ppe("PL0038010000123") == "1000000105"
        assert len(await b.ppes_of_partner("1000000103")) == 2
        kwiaciarnia = await b.partner("1000000104")
        assert kwiaciarnia and kwiaciarnia.kind == "business" and kwiaciarnia.nip == "5260181596"


async def test_reimport_updates_and_never_duplicates(store: Store) -> None:
    rows = [a_row(), a_row(), a_business()]
    assert (await load(store, rows)).loaded == 3
    rows[0] |= {"partner_name": "Jan Kowalski-Nowak", "tariff": "g12", "invoice_gross": "250.00"}
    report = await load(store, rows)
    assert (report.rows_read, report.loaded, report.bad) == (3, 3, [])
    held = await stored(store, rows)
    assert {len(v) for v in held.values()} == {3}
    assert (rows[0]["invoice_number"], 25000) in held["invoices"]
    async with store.begin() as uow:
        partner = await uow.billing.partner(rows[0]["partner_number"])
        (ppe,) = await uow.billing.ppes_of_partner(rows[0]["partner_number"])
    assert partner and partner.name == "Jan Kowalski-Nowak" and ppe.tariff == "G12"


async def test_bad_rows_are_reported_by_line_and_field_and_the_rest_load(store: Store) -> None:
    wrong_pesel = wrong_check_digit(a_pesel())
    rows = [
        a_row(),  # line 2
        a_row(pesel=wrong_pesel),  # 3
        a_row(ppe=wrong_check_digit(a_ppe())),  # 4
        a_row(contract_account="12345"),  # 5
        a_business(nip=""),  # 6
        a_row(invoice_gross=""),  # 7
        a_row(invoice_gross="12,345", invoice_date="2026-02-30"),  # 8
        a_row(partner_kind="company", partner_number="12345678901"),  # 9
        a_row(area="WAW MOKOTOW", tariff="?"),  # 10
        a_row(invoice_number="", invoice_gross="", invoice_date=""),  # 11: no invoice, fine
        a_row(),  # 12
    ]
    report = await load(store, rows)
    assert (report.rows_read, report.loaded) == (11, 3)
    assert report.bad_lines == [3, 4, 5, 6, 7, 8, 9, 10]
    assert {(e.line, e.field) for e in report.bad} == {
        (3, "pesel"),
        (4, "ppe"),
        (5, "contract_account"),
        (6, "nip"),
        (7, "invoice_gross"),
        (8, "invoice_gross"),
        (8, "invoice_date"),
        (9, "partner_kind"),
        (9, "partner_number"),
        (10, "area"),
        (10, "tariff"),
    }
    assert not any(wrong_pesel in str(e) for e in report.bad)
    held = await stored(store, rows)
    good = [rows[0], rows[9], rows[10]]
    assert held["ppes"] == {(r["ppe"], r["contract_account"]) for r in good}
    assert held["partners"] == {(r["partner_number"],) for r in good}
    assert len(held["invoices"]) == 2


async def test_a_header_without_required_columns_is_refused_whole(store: Store) -> None:
    row = a_row()
    header = [c for c in HEADER if c not in ("ppe", "area")]
    with pytest.raises(ImportFileError, match="missing columns: ppe, area"):
        await import_partners(store, io.StringIO(as_csv([row], header)))
    with pytest.raises(ImportFileError, match="invoice_date"):
        await import_partners(store, io.StringIO(as_csv([row], HEADER[:-1])))
    with pytest.raises(ImportFileError, match="unknown columns: 'e_mail'"):
        await import_partners(store, io.StringIO(as_csv([row], [*HEADER, "e_mail"])))
    with pytest.raises(ImportFileError, match="empty"):
        await import_partners(store, io.StringIO("\n"))
    assert not any((await stored(store, [row])).values())


async def test_invoice_columns_may_be_left_out(store: Store) -> None:
    row = a_row()
    report = await import_partners(store, io.StringIO(as_csv([row], list(COLUMNS))))
    assert (report.loaded, report.bad) == (1, [])
    assert (await stored(store, [row]))["invoices"] == set()


async def test_conflicting_rows_are_bad_rows(store: Store) -> None:
    first, business = a_row(), a_business()
    rows = [
        first,  # 2
        a_row(ppe=first["ppe"]),  # 3: the same PPE in another contract account
        a_business(nip=business["nip"]),  # 4: loads; line 6 repeats its NIP
        business | {"partner_name": "Kwiaciarnia Łąka"},  # 5: the partner of line 4... no: own
        a_business(nip=business["nip"]),  # 6: the same NIP for another partner
        first | {"partner_name": "Jan Nowak", "ppe": a_ppe()},  # 7: one partner, two names
        a_row(contract_account=first["contract_account"]),  # 8: the account is line 2's partner's
        first | {"ppe": a_ppe(), "invoice_gross": "1,00"},  # 9: line 2's invoice, other amount
        first,  # 10: a repeat of line 2 agrees with it
    ]
    report = await load(store, rows, batch_size=3)
    assert {(e.line, e.field) for e in report.bad} == {
        (3, "ppe"),
        (5, "nip"),
        (6, "nip"),
        (7, "partner_number"),
        (8, "contract_account"),
        (9, "invoice_number"),
    }
    assert "line 2" in next(e.message for e in report.bad if e.line == 3)
    assert (report.rows_read, report.loaded) == (9, 3)
    held = await stored(store, rows)
    assert held["ppes"] == {(r["ppe"], r["contract_account"]) for r in (first, rows[2])}


async def test_a_nip_or_legacy_code_held_by_another_partner_in_the_store(store: Store) -> None:
    legacy = f"PL00380{digits(8)}"
    owner = a_business(legacy_ppe=legacy)
    assert (await load(store, [owner])).loaded == 1
    report = await load(store, [a_business(nip=owner["nip"]), a_row(legacy_ppe=legacy), a_row()])
    assert [(e.line, e.field) for e in report.bad] == [(2, "nip"), (3, "legacy_ppe")]
    assert "in the store" in report.bad[0].message and report.loaded == 1


async def test_batches_each_in_one_transaction(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    begun = 0
    original = store.begin

    @asynccontextmanager
    async def counting() -> Any:
        nonlocal begun
        begun += 1
        async with original() as uow:
            yield uow

    monkeypatch.setattr(store, "begin", counting)
    rows = [a_row() for _ in range(6)]
    report = await load(store, rows, batch_size=2)
    assert (report.rows_read, report.loaded, report.bad, begun) == (6, 6, [], 3)
    assert len((await stored(store, rows))["ppes"]) == 6
    with pytest.raises(ValueError, match="batch_size"):
        await load(store, rows, batch_size=0)


async def test_semicolons_bom_blank_lines_and_cell_counts(store: Store, tmp_path: Path) -> None:
    rows = [a_row(invoice_gross="1 204,99"), a_row()]
    header, *lines = as_csv(rows, delimiter=";").splitlines()
    text = "\r\n".join([header, "", *lines, ""])
    text += "1000000101;too;few\n"
    path = tmp_path / "partners.csv"
    path.write_text(text, encoding="utf-8-sig")
    report = await import_partners(store, path)
    # line 1 header, 2 blank, 3 and 4 rows, 5 short
    assert (report.rows_read, report.loaded, report.bad_lines) == (3, 2, [5])
    assert report.bad[0].field == "row"
    unquoted = as_csv([a_row()]).replace('"245,67"', "245,67")
    (bad,) = (await import_partners(store, io.StringIO(unquoted))).bad
    assert (bad.line, bad.field) == (2, "row") and '"245,67"' in bad.message
    assert (rows[0]["invoice_number"], 120499) in (await stored(store, rows))["invoices"]


async def test_unreadable_files(store: Store, tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="cannot read"):
        await import_partners(store, tmp_path / "missing.csv")
    latin2 = tmp_path / "latin2.csv"
    latin2.write_bytes(as_csv([a_row(partner_name="Łukasz Wiśniewski")]).encode("iso-8859-2"))
    with pytest.raises(ImportFileError, match="line 2: not UTF-8"):
        await import_partners(store, latin2)


# --- hypothesis: every row is loaded or reported, and nothing else is written --------------------

BAD: dict[str, Callable[[dict[str, str]], dict[str, str]]] = {
    "pesel": lambda r: {"pesel": wrong_check_digit(a_pesel())},
    "ppe": lambda r: {"ppe": wrong_check_digit(r["ppe"])},
    "contract_account": lambda r: {"contract_account": r["contract_account"][1:]},
    "partner_number": lambda r: {"partner_number": r["partner_number"] + "0"},
    "nip": lambda r: {"partner_kind": "business", "nip": ""},
    "partner_kind": lambda r: {"partner_kind": "firma"},
    "partner_name": lambda r: {"partner_name": "Jan\x00Kowalski"},
    "invoice_gross": lambda r: {"invoice_gross": "245,678"},
    "invoice_date": lambda r: {"invoice_date": "05.11.2026"},
    "invoice_number": lambda r: {"invoice_number": ""},
}
# Columns that random text may fill without changing which row a key belongs to.
FREE = ["partner_name", "pesel", "nip", "legacy_ppe", "area", "tariff", "invoice_gross"]
ROW = st.one_of(
    st.just(("good", "", "")),
    st.tuples(st.just("bad"), st.sampled_from(sorted(BAD)), st.just("")),
    st.tuples(st.just("random"), st.sampled_from(FREE), st.text(max_size=24)),
    st.just(("conflict", "", "")),
)


@given(plan=st.lists(ROW, min_size=1, max_size=8), batch_size=st.integers(1, 4))
@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
async def test_any_file_is_loaded_or_reported_row_by_row(
    store: Store, plan: list[tuple[str, str, str]], batch_size: int
) -> None:
    rows: list[dict[str, str]] = []
    lines: list[int] = []  # where each row starts: a quoted cell may hold line breaks
    must_fail: set[int] = set()
    must_load: set[int] = set()
    for how, column, text in plan:
        line = lines[-1] + as_csv(rows[-1:]).count("\n") - 1 if rows else 2
        lines.append(line)
        row = a_row() if line % 2 else a_business()
        if how == "bad":
            row |= BAD[column](row)
            must_fail.add(line)
        elif how == "random":
            row[column] = text
        elif how == "conflict" and must_load:
            row["ppe"] = rows[lines.index(min(must_load))]["ppe"]  # a loaded PPE, another account
            must_fail.add(line)
        else:
            must_load.add(line)
        rows.append(row)

    report = await load(store, rows, batch_size)

    bad = set(report.bad_lines)
    assert report.rows_read == len(rows) and report.loaded + len(bad) == len(rows)
    assert must_fail <= bad and not must_load & bad
    assert all(e.field in (*HEADER, "row") and e.message for e in report.bad)
    loaded = [r for line, r in zip(lines, rows, strict=True) if line not in bad]
    held = await stored(store, rows)
    assert held["partners"] == {(r["partner_number"],) for r in loaded}
    assert held["accounts"] == {(r["contract_account"], r["partner_number"]) for r in loaded}
    assert held["ppes"] == {(r["ppe"], r["contract_account"]) for r in loaded}
    assert {n for n, _ in held["invoices"]} == {r["invoice_number"] for r in loaded}


# --- the command ---------------------------------------------------------------------------------


@pytest.fixture
def cli_db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """A migrated SQLite file, and no EBOK_* or .ebok-dev/dev.env from the caller."""
    for name in list(os.environ):
        if name.startswith("EBOK_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("EBOK_INVOICE_SELLER_NIP", DEMO_SELLER_NIP)  # required
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "cli.db"
    monkeypatch.setenv("EBOK_DATABASE_URL", f"sqlite:///{path}")
    assert main(["migrate"]) == 0
    yield path


def test_cli_imports_and_names_bad_rows(
    cli_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["import", "partners", str(DEMO), "--batch", "3"]) == 0
    assert capsys.readouterr().out.splitlines() == ["7 rows read, 7 loaded, 0 bad"]

    secret = a_pesel()
    bad = tmp_path / "bad.csv"
    bad.write_text(as_csv([a_row(), a_row(pesel=secret[:-1] + "x"), a_row(tariff="")]))
    assert main(["import", "partners", str(bad)]) == 2
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "3 rows read, 1 loaded, 2 bad"
    assert "line 3: pesel:" in out and "line 4: tariff:" in out and secret[:-1] not in out
    assert main(["import", "partners", str(bad), "--json"]) == 2
    shown = json.loads(capsys.readouterr().out)
    assert shown["loaded"] == 1 and [e["line"] for e in shown["bad"]] == [3, 4]


def test_cli_refuses_unusable_files(
    cli_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["import", "partners", str(tmp_path / "missing.csv")]) == 1
    assert "cannot read" in capsys.readouterr().err
    headless = tmp_path / "headless.csv"
    headless.write_text(as_csv([a_row()], [c for c in HEADER if c != "tariff"]))
    assert main(["import", "partners", str(headless)]) == 1
    assert "missing columns: tariff" in capsys.readouterr().err
    assert main(["import", "partners", str(DEMO), "--batch", "0"]) == 2  # a usage error
