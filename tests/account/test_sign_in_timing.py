"""An unknown login costs what a wrong password costs: both check the password against a
hash made with today's parameters (the account's, or the facade's dummy) and count the failure
alike. 200 timed sign-ins of each kind, interleaved; their medians lie within 10 %."""

from __future__ import annotations

import statistics
import time
import uuid
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from ebok.models.sign_in import SignInOutcome
from ebok.store.db import Store
from facade.client import EbokClient
from tests.account.helpers import PASSWORD, an_account_with_password, an_ip

pytestmark = pytest.mark.asyncio(loop_scope="session")

SAMPLES = 200
TRIES_PER_ACCOUNT = 4  # below the lock: every wrong password is checked


async def timed(ebok: EbokClient, login: str) -> float:
    start = time.perf_counter()
    answer = await ebok.sign_in(login, "not-the-password", an_ip())
    elapsed = time.perf_counter() - start
    assert answer.outcome is SignInOutcome.REFUSED
    return elapsed


async def test_unknown_login_and_wrong_password_take_the_same_time(
    store: Store, env: WorkflowEnvironment, ebok_for: Any
) -> None:
    ebok: EbokClient = ebok_for(env.client)
    logins = [
        (await an_account_with_password(store, PASSWORD))[2]
        for _ in range(SAMPLES // TRIES_PER_ACCOUNT)
    ]
    ghosts = [f"ghost.{uuid.uuid4().hex}" for _ in logins]  # tried as often as each account
    # Warm up both paths (the dummy hash is made at the first unknown login).
    await timed(ebok, f"ghost.{uuid.uuid4().hex}")
    known: list[float] = []
    unknown: list[float] = []
    for i in range(SAMPLES):
        known.append(await timed(ebok, logins[i % len(logins)]))
        unknown.append(await timed(ebok, ghosts[i % len(ghosts)]))
    k, u = statistics.median(known), statistics.median(unknown)
    print(f"median wrong password {k * 1000:.1f} ms, unknown login {u * 1000:.1f} ms")
    assert abs(k - u) <= 0.10 * max(k, u), (k, u)
