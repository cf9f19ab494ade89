"""Every bench scenario runs end to end with a handful of iterations: both sides complete with
no failure and the table carries its ratios. (The figures themselves come from ``python -m
bench`` runs with a real N, not from here.)"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import pytest

from adapters.email.base import OutgoingEmail
from adapters.email.mime import render
from bench.__main__ import phase_order
from bench.harness import Phase
from bench.inbox import Arrival
from bench.meter import ProcessUsage, Usage
from bench.scenarios import SCENARIOS
from entrypoints.devsmtp import Delivery

ROOT = Path(__file__).resolve().parent.parent
# A handful of iterations on SQLite, no JSON line or plot.
SMALL = ("--warmup", "0", "--db", "sqlite", "--no-record", "--timeout", "60")


def bench(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """``python -m bench ARGS`` from the repository, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "bench", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip


def test_every_scenario_module_is_registered() -> None:
    modules = {p.stem for p in (ROOT / "bench" / "scenarios").glob("*.py")} - {"__init__"}
    assert set(SCENARIOS) == modules


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_scenario_runs_on_both_sides(scenario: str, tmp_path: Path) -> None:
    done = bench(scenario, "--n", "3", "--concurrency", "3", *SMALL)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert re.search(r"^failures\s+0\s+0\b", done.stdout, re.M), done.stdout
    assert re.search(r"^throughput \(.*\)\s+[\d.]+\s+[\d.]+\s+[\d.]+x$", done.stdout, re.M)
    assert re.search(r"^history events/workflow\s+[\d.]+\s+[\d.]+", done.stdout, re.M)


def test_each_side_can_run_several_worker_processes() -> None:
    done = bench(
        "registration", "--n", "6", "--concurrency", "6", *SMALL, "--workers", "2", "--verbose"
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert re.search(r"^failures\s+0\s+0\b", done.stdout, re.M), done.stdout
    assert "worker: 2 worker processes per side" in done.stdout
    ready = re.findall(r"(worker\.py|bench\.bare_worker): pid (\d+) ready", done.stderr)
    assert sorted({name for name, _ in ready}) == ["bench.bare_worker", "worker.py"]
    assert len({pid for _, pid in ready}) == 4, ready  # two of each side, all running


def test_a_scenario_whose_mirror_keeps_state_in_its_worker_refuses_more_workers() -> None:
    done = bench("storm", "--n", "3", "--workers", "2", "--no-record", timeout=60)
    assert done.returncode == 2
    assert "--workers: storm runs one worker per side" in done.stderr


def test_two_rounds_measure_each_side_twice_in_turn() -> None:
    # Storm: its customers, PPEs and incidents must not clash between two phases of a side.
    done = bench("storm", "--n", "3", "--rounds", "2", "--concurrency", "3", *SMALL, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "n 6 " in done.stdout and "phases ours, bare, bare, ours" in done.stdout, done.stdout
    assert re.search(r"^failures\s+0\s+0\b", done.stdout, re.M), done.stdout
    assert re.search(r"^incident runs\s+3\.0\s+3\.0\b", done.stdout, re.M), done.stdout


def test_the_phases_alternate_so_neither_side_is_always_first() -> None:
    assert phase_order("both", 1) == ["ours", "bare"]
    assert phase_order("both", 3) == ["ours", "bare", "bare", "ours", "ours", "bare"]
    assert phase_order("bare", 2) == ["bare", "bare"]


def test_two_phases_of_a_side_add_up_as_one() -> None:
    def phase(n: int, wall: float, cpu: float, rss: float, lat: list[float], runs: float) -> Phase:
        usage = Usage(
            driver=ProcessUsage(cpu_s=cpu, peak_rss_mb=rss, peak_rss_scope="phase"),
            workers=ProcessUsage(
                cpu_s=2 * cpu, peak_rss_mb=rss, peak_rss_scope="phase", rss_mb=rss
            ),
            server_cpu_s=None,
        )
        return Phase(n, 5, wall, 0, None, {"report": lat}, 10.0, usage, {"runs": runs})

    both = phase(10, 2.0, 1.0, 100, [0.1], 3).then(phase(30, 2.0, 3.0, 80, [0.2, 0.3], 5))
    assert (both.n, both.wall_s, both.throughput) == (40, 4.0, 10.0)
    assert both.latencies_s == {"report": [0.1, 0.2, 0.3]}
    assert both.usage.driver.cpu_s == 4.0 and both.usage.driver.peak_rss_mb == 100
    assert both.usage.workers is not None and both.usage.workers.rss_mb == 80
    assert both.usage.server_cpu_s is None  # unknown in either phase: unknown
    assert both.extra == {"runs": 4.0} and both.events_per_workflow == 10.0


def test_an_arrival_tells_an_attachment_from_a_line_of_text() -> None:
    def arrival(mail: EmailMessage) -> Arrival:
        return Arrival(0.0, Delivery("a@x.pl", ("b@x.pl",), ("::1", 1), False, None, bytes(mail)))

    mail = EmailMessage()
    mail["Subject"] = "Faktura FV/2026/11/000101"
    mail.set_content("W załączniku faktura.\nContent-Type: application/pdf\n")
    without = arrival(mail)
    mail.add_attachment(b"%PDF-1.7", maintype="application", subtype="pdf", filename="f.pdf")
    with_pdf = arrival(mail)
    assert with_pdf.attaches("application/pdf")
    assert not with_pdf.attaches("application/pd")
    assert not without.attaches("application/pdf")  # the text's line is no part's header


@pytest.mark.parametrize("encoding", ["quoted-printable", "base64", "8bit"])
def test_an_arrivals_text_is_what_a_parse_finds(encoding: str) -> None:
    def arrival(raw: bytes) -> Arrival:
        return Arrival(0.0, Delivery("a@x.pl", ("b@x.pl",), ("::1", 1), False, None, raw))

    text = "Dzień dobry,\n-- \nlink: https://ebok.example.pl/aktywacja?token=" + "Ab_-9" * 30 + "\n"
    mail = EmailMessage()
    mail["Subject"] = "Aktywacja"
    mail.set_content(text, cte=encoding)
    mail.add_alternative("<p>Dzień dobry</p>", subtype="html")
    mail.add_attachment(b"%PDF-1.7" * 500, maintype="application", subtype="pdf")
    raw = bytes(mail).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    assert arrival(raw).text() == arrival(raw).parsed_text()
    assert arrival(raw).text().replace("\r\n", "\n") == text
    # Our own renderer's mails (quoted-printable, CRLF): the same.
    sent, _ = render(
        OutgoingEmail(
            sender="a@x.pl",
            to="b@x.pl",
            subject="Aktywacja",
            text=text,
            html="<p>x</p>",
            message_id="<1@x.pl>",
        )
    )
    assert arrival(sent).text() == arrival(sent).parsed_text()
    assert "token=" + "Ab_-9" * 30 in arrival(sent).text()
