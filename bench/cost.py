"""``python -m bench.cost [--db postgres]``: Temporal Cloud's billable actions per process and
what a month of a utility of 1,000,000 customers would cost in actions.

Actions per process come from the last bench run of each scenario on the given database
(``bench/results/results.jsonl``: every side's histories counted by ``bench/actions.py``; a
storm report also carries its share of its incident's actions), and the whole life of an
invoice from its recorded histories (``tests/histories/``: paid online on time; dunned through
reminders, the formal demand and the supply suspension, then paid). The month: one invoice per
customer, one registration per 100 customers, a storm of 10,000 outage reports.

The price is Temporal Cloud's pay-as-you-go price per million actions, by volume tier, as
published on its pricing page (see the bench README for the date it was read); the support
plan's fee and the actions it includes are left out.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bench.actions import actions, from_file, total
from bench.report import JSONL
from bench.scenarios import SIDES

__all__ = ["TIERS", "invoice_lives", "monthly_price", "per_process"]

HISTORIES = Path(__file__).resolve().parent.parent / "tests" / "histories"
INVOICE_LIVES = {
    "invoice paid on time": "invoice_paid_online.json",
    "invoice dunned, suspended, then paid": "invoice_dunned_suspended_paid.json",
}
# (up to this many actions a month, US dollars per million of them), pay-as-you-go; past the
# last tier the price is agreed with Temporal: the last one is used.
TIERS = (
    (5e6, 50.0),
    (10e6, 45.0),
    (20e6, 40.0),
    (50e6, 35.0),
    (100e6, 30.0),
    (200e6, 25.0),
)
CUSTOMERS = 1_000_000
REGISTRATIONS = CUSTOMERS // 100
STORM_REPORTS = 10_000


def monthly_price(actions_a_month: float) -> float:
    """US dollars for a month's actions, each tier at its own price."""
    price, below = 0.0, 0.0
    for up_to, per_million in TIERS:
        price += max(0.0, min(actions_a_month, up_to) - below) / 1e6 * per_million
        below = up_to
    return price + max(0.0, actions_a_month - below) / 1e6 * TIERS[-1][1]


def invoice_lives() -> dict[str, int]:
    return {
        life: total(actions(from_file(HISTORIES / name))) for life, name in INVOICE_LIVES.items()
    }


def _last_runs(db: str) -> dict[str, dict[str, Any]]:
    if not JSONL.exists():
        return {}
    runs: dict[str, dict[str, Any]] = {}
    for text in JSONL.read_text(encoding="utf-8").splitlines():
        line = json.loads(text) if text.strip() else {}
        if line.get("db") == db and any(
            (line.get(s) or {}).get("actions_per_workflow") for s in SIDES
        ):
            runs[line["scenario"]] = line
    return runs


def per_process(line: dict[str, Any]) -> dict[str, float | None]:
    """Actions per process of each side: a workflow's, plus a storm report's incident share."""
    out: dict[str, float | None] = {}
    for side in SIDES:
        figures = line.get(side) or {}
        counted = figures.get("actions_per_workflow")
        share = (figures.get("extra") or {}).get("incident actions/report", 0.0)
        out[side] = None if counted is None else counted + share
    return out


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.cost", description=__doc__)
    p.add_argument("--db", choices=("sqlite", "postgres"), default="postgres")
    args = p.parse_args(argv)
    runs = _last_runs(args.db)
    print(f"billable actions per process (last runs on {args.db}; {JSONL})")
    print(f"{'process':38}  {'ours':>6}  {'mirror':>6}  {'bare':>6}  run")
    for scenario, line in sorted(runs.items()):
        sides = per_process(line)
        cells = "  ".join(f"{_cell(sides[s]):>6}" for s in SIDES)
        print(f"{scenario + ' (one ' + line['unit'][:-1] + ')':38}  {cells}  {line['when']}")
    lives = invoice_lives()
    for life, counted in lives.items():
        print(f"{life:38}  {counted:6d}  {'-':>6}  {'-':>6}  tests/histories")
    registration = per_process(runs["registration"])["ours"] if "registration" in runs else None
    report = per_process(runs["storm"])["ours"] if "storm" in runs else None
    if registration is None or report is None:
        print("no registration or storm run with actions on this database: no monthly figure")
        return
    print(
        f"\na month of {CUSTOMERS:,} customers: {CUSTOMERS:,} invoices, {REGISTRATIONS:,} "
        f"registrations, a storm of {STORM_REPORTS:,} reports"
    )
    for life, per_invoice in lives.items():
        month = CUSTOMERS * per_invoice + REGISTRATIONS * registration + STORM_REPORTS * report
        print(
            f"  every {life}: {month / 1e6:,.2f} M actions = "
            f"${monthly_price(month):,.0f} a month (pay-as-you-go tiers, plan fee aside)"
        )


if __name__ == "__main__":
    main()
