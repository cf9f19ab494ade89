"""``python -m bench.invoice_events``: the history length of an invoice paid on time and of one
dunned all the way, from the invoice lifecycle's own end-to-end tests.

The billing scenario ends at the e-mail, with every invoice waiting for payment; what an
invoice costs Temporal over its whole life depends on how it ends and takes weeks of timers.
The two tests run it on the time-skipping server (real store on SQLite, real SMTP, the sandbox
payments adapter and grid operator), assert the outcome and print the event count:

- paid on time: issued, e-mailed with its PDF, paid online through the sandbox provider's
  signed notification, thank-you mail (``test_paid_online_on_time``);
- full dunning: reminders before and after the due date, the formal demand, the supply
  suspension filed when the notice runs out, then a staff payment that withdraws it
  (``test_demand_then_suspension_then_payment_withdraws_it``).
"""

from __future__ import annotations

import re
import subprocess
import sys

from bench.child import REPO

TESTS = {
    "paid on time": "tests/workflows/test_invoice.py::test_paid_online_on_time",
    "full dunning": (
        "tests/workflows/test_invoice_dunning.py::"
        "test_demand_then_suspension_then_payment_withdraws_it"
    ),
}
PRINTED = re.compile(r"^(paid on time|full dunning): (\d+) history events$", re.MULTILINE)


def counts() -> dict[str, int]:
    """Run the two tests (SQLite only) and read the counts they print."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "--db", "sqlite",
         *TESTS.values()],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    found = {name: int(n) for name, n in PRINTED.findall(done.stdout)}
    if done.returncode != 0 or found.keys() != TESTS.keys():
        raise SystemExit(f"the invoice tests failed or printed no count:\n{done.stdout[-3000:]}")
    return found


def main() -> None:
    for name, events in counts().items():
        print(f"{name:14} {events:4d} history events  ({TESTS[name]})")


if __name__ == "__main__":
    main()
