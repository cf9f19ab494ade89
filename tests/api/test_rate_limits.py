"""Per-service request rates: over the burst, 429 with Retry-After; other services go on."""

from __future__ import annotations

from ipaddress import ip_address

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from ebok.store.db import Store
from entrypoints.api.app import create_app
from entrypoints.api.auth import CUSTOMER_IP
from entrypoints.api.ratelimit import RateLimits, network_of
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


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::2", "2001:db8:1:2::/64"),  # the same household's /64
        ("::ffff:203.0.113.7", "203.0.113.7"),  # IPv4 written as IPv6 is IPv4
    ],
)
def test_a_customer_is_limited_by_network(address: str, key: str) -> None:
    assert network_of(ip_address(address)) == key


def test_full_buckets_are_forgotten_when_many() -> None:
    now = [0.0]
    limits = RateLimits(per_second=1.0, burst=3, clock=lambda: now[0], max_buckets=3)
    for name in ("a", "b", "c"):
        assert limits.take(name) is None
    now[0] += 0.5  # none full again yet (3 s to refill): all kept
    assert limits.take("d") is None
    assert [limits.take("a") for _ in range(3)] == [None, None, 1]  # 2.5 tokens left
    now[0] += 10.0  # all full again: forgotten, as a full bucket is the same as none
    assert limits.take("e") is None
    assert len(limits._buckets) == 1


@pytest.mark.asyncio(loop_scope="session")
async def test_one_customer_address_is_limited_across_services(
    api: Api, env: WorkflowEnvironment, store: Store
) -> None:
    slow = api.settings.model_copy(
        update={"api_customer_rate_per_minute": 0.6, "api_customer_burst": 2}
    )
    server, task, url = await serve(create_app(EbokClient(env.client, store, slow), slow))
    web, mobile = await api.key("registration"), await api.key("registration")
    body = {"token": "x" * 43}
    try:
        async with httpx.AsyncClient(base_url=url) as http:

            async def activate(key: str, address: str) -> httpx.Response:
                headers = {"Authorization": f"Bearer {key}", CUSTOMER_IP: address}
                return await http.post("/v1/activations", json=body, headers=headers)

            assert (await activate(web, "2001:db8:5::1")).status_code == 200
            assert (await activate(mobile, "2001:db8:5::2")).status_code == 200
            over = await activate(web, "2001:db8:5::3")  # the same /64, whichever service
            assert over.status_code == 429
            assert over.headers["content-type"] == "application/problem+json"
            assert 1 <= int(over.headers["retry-after"]) <= 100
            assert (await activate(web, "2001:db8:6::1")).status_code == 200  # another network
            odd = await activate(web, "localhost")
            assert odd.status_code == 422 and CUSTOMER_IP in odd.text
            no_header = await http.post(
                "/v1/activations", json=body, headers={"Authorization": f"Bearer {web}"}
            )
            assert no_header.status_code == 200  # only the service's own limit
    finally:
        server.should_exit = True
        await task
