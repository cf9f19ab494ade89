"""``python -m bench.sign_in --db postgres``: what a sign-in and a password reset cost.

1. argon2id: the time of one hash (and one check) with the production parameters, one at a
   time: the floor under every sign-in.
2. Sign-ins per second through the facade, ``--concurrency`` at once for ``--seconds``, with
   throttling in force (every sign-in reads the account's and the address's counts; a failure
   writes both): right passwords of existing accounts, then wrong ones of unknown logins.
3. The reset's round trip, one at a time, with ``python worker.py`` as a child process and a
   local SMTP relay: request → the mail arrives → the link is followed with a new password →
   ``changed``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import statistics
import time
import uuid
from datetime import UTC, datetime

from bench.harness import DEFAULT_POSTGRES, Stack, our_worker, started
from ebok.models.password_reset import RESET_PAGE, ResetOutcome
from ebok.passwords import hash_password, verify_password_async
from ebok.store.db import Store
from ebok.store.registrations import RegistrationRecord
from facade.client import EbokClient

PASSWORD = "Zielona-Łąka-2026!"
_TOKEN = re.compile(rf"/{re.escape(RESET_PAGE)}\?token=([0-9a-f]{{64}})")


def _figures(name: str, seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    q = statistics.quantiles(ms, n=100) if len(ms) > 1 else [ms[0]] * 99
    return f"{name:<34} n={len(ms):<5} p50 {q[49]:7.1f} ms  p99 {q[98]:7.1f} ms"


async def _accounts(store: Store, n: int) -> list[tuple[str, str, str]]:
    made = []
    stored = await hash_password(PASSWORD)  # one hash for all: the bench times sign-ins
    now = datetime.now(UTC)
    for _ in range(n):
        account_id, tag = uuid.uuid4().hex, uuid.uuid4().hex[:10]
        email, login = f"bench.{tag}@example.pl", f"bench.{tag}"
        record = RegistrationRecord(
            account_id, email, login, stored, "pl", "activated", "2026-01", now, now
        )
        async with store.begin() as uow:
            await uow.registrations.add(account_id, email, login, "pl", "activated", now)
            await uow.accounts.create_from(record, now)
        made.append((account_id, email, login))
    return made


async def _argon2(n: int) -> None:
    hashes, checks, cpu = [], [], []
    stored = await hash_password(PASSWORD)
    for _ in range(n):
        began, used = time.perf_counter(), time.process_time()
        await hash_password(PASSWORD)
        hashes.append(time.perf_counter() - began)
        cpu.append(time.process_time() - used)
        began = time.perf_counter()
        await verify_password_async(stored, PASSWORD)
        checks.append(time.perf_counter() - began)
    print(_figures("argon2id hash (m=19 MiB, t=2, p=1)", hashes))
    print(_figures("argon2id check", checks))
    print(_figures("argon2id hash, CPU time", cpu))


async def _rate(
    ebok: EbokClient, logins: list[str], right: bool, seconds: float, concurrency: int
) -> None:
    latencies: list[float] = []
    outcomes: dict[str, int] = {}
    deadline = time.perf_counter() + seconds
    rng = random.Random(7)

    async def one_client() -> None:
        while time.perf_counter() < deadline:
            if right:
                who, password = rng.choice(logins), PASSWORD
            else:
                who, password = f"ghost.{uuid.uuid4().hex}", "not-the-password"
            ip = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
            began = time.perf_counter()
            answer = await ebok.sign_in(who, password, ip)
            latencies.append(time.perf_counter() - began)
            outcomes[answer.outcome.value] = outcomes.get(answer.outcome.value, 0) + 1

    began, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one_client() for _ in range(concurrency)))
    took, cpu_each = time.perf_counter() - began, (time.process_time() - cpu) / len(latencies)
    kind = "right password" if right else "unknown login"
    print(f"sign-in, {kind}, {concurrency} at once: {len(latencies) / took:6.1f} /s  {outcomes}")
    # The facade's process only (threads included); PostgreSQL's own CPU is not in it.
    print(
        f"  CPU of the facade's process per sign-in {cpu_each * 1000:5.1f} ms"
        f" → {1 / cpu_each:5.1f} sign-ins/s per free core"
    )
    print(_figures(f"  latency ({kind})", latencies))


async def _resets(stack: Stack, ebok: EbokClient, store: Store, n: int) -> None:
    accounts = await _accounts(store, n)
    round_trips, to_mail = [], []
    async with our_worker(stack, ebok.settings):
        for i, (_, email, _) in enumerate(accounts):
            began = time.perf_counter()
            await ebok.request_password_reset(email)
            mail = (await stack.smtpd.wait_for(2 * i + 1, timeout=60))[2 * i].message
            mailed = time.perf_counter()
            assert mail["To"] == email, (mail["To"], email)
            part = mail.get_body(preferencelist=("plain",))
            assert part is not None
            found = _TOKEN.search(part.get_content())
            assert found, "no reset link in the mail"
            outcome = await ebok.confirm_password_reset(found.group(1), f"Nowe hasło {i} 2026!")
            assert outcome is ResetOutcome.CHANGED, outcome
            round_trips.append(time.perf_counter() - began)
            to_mail.append(mailed - began)
            # The "password changed" mail follows; wait for it so the next count is right.
            await stack.smtpd.wait_for(2 * (i + 1), timeout=60)
    print(_figures("reset: request → mail arrives", to_mail))
    print(_figures("reset: request → mail → changed", round_trips))


async def run(args: argparse.Namespace) -> None:
    async with started(args.db, args.postgres_url, None, "default") as stack:
        settings = stack.settings(api_rate_per_second=1e6)
        store = Store.from_settings(settings)
        ebok = EbokClient(stack.client, store, settings)
        try:
            print(f"{args.db}; Temporal: {stack.temporal}")
            await _argon2(args.hashes)
            logins = [login for _, _, login in await _accounts(store, 50)]
            await _rate(ebok, logins, True, args.seconds, args.concurrency)
            await _rate(ebok, logins, False, args.seconds, args.concurrency)
            await _resets(stack, ebok, store, args.resets)
        finally:
            await store.aclose()


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.sign_in", description=__doc__)
    p.add_argument("--db", choices=("sqlite", "postgres"), default="postgres")
    p.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    p.add_argument("--hashes", type=int, default=50)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--resets", type=int, default=100)
    args = p.parse_args()
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
