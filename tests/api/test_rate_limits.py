"""Per-service request rates: over the burst, 429 with Retry-After; other services go on."""

from __future__ import annotations

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from ebok.store.db import Store
from entrypoints.api.app import create_app
from entrypoints.api.ratelimit import RateLimits
from facade.client import EbokClient
from tests.api.conftest import Api, serve

SOME_ID = "0" * 32


def test_the_bucket_refills_at_the_rate() -> None:
    now = [0.0]
    limits = RateLimits(per_second=2.0, burst=3, clock=lambda: now[0])
    assert [limits.take("portal") for _ in range(3)] == [None, None, None]
    assert limits.take("portal") == 1  # half a second to the next token: at least 1 s
    assert limits.take("billing") is None  # a bucket per service
    now[0] += 0.5
    assert limits.take("portal") is None
    assert limits.take("portal") == 1
    now[0] += 100
    assert [limits.take("portal") for _ in range(4)] == [None, None, None, 1]  # burst caps


@pytest.mark.asyncio(loop_scope="session")
async def test_over_the_rate_is_429_with_retry_after(
    api: Api, env: WorkflowEnvironment, store: Store
) -> None:
    # One request per 100 s after a burst of 3: the fourth at once is over, whatever the pace.
    slow = api.settings.model_copy(update={"api_rate_per_second": 0.01, "api_rate_burst": 3})
    server, task, url = await serve(create_app(EbokClient(env.client, store, slow), slow))
    busy, calm = await api.key("registration"), await api.key("registration")
    try:
        async with httpx.AsyncClient(base_url=url) as http:
            path = f"/v1/registrations/{SOME_ID}"
            for _ in range(3):
                ok = await http.get(path, headers={"Authorization": f"Bearer {busy}"})
                assert ok.status_code == 404
            over = await http.get(path, headers={"Authorization": f"Bearer {busy}"})
            assert over.status_code == 429
            assert over.headers["content-type"] == "application/problem+json"
            assert 1 <= int(over.headers["retry-after"]) <= 100
            other = await http.get(path, headers={"Authorization": f"Bearer {calm}"})
            assert other.status_code == 404
    finally:
        server.should_exit = True
        await task
