"""``python -m bench.api_latency --n 200 --db sqlite``: what the HTTP API adds to a call.

Starts registrations one at a time, alternately through the facade in-process and through the
API (uvicorn on a local port, one keep-alive httpx connection, a bearer key checked against the
store on every request), and prints the latency of each path. No worker runs: a registration's
start is a store write and a workflow start, which is all either path waits for.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import time
import uuid

import httpx
import uvicorn

from bench.harness import DEFAULT_POSTGRES, started
from ebok.settings import DEMO_SELLER_NIP
from ebok.store.db import Store
from entrypoints.api.app import create_app
from facade.api_keys import ApiKeys
from facade.client import EbokClient


def _figures(name: str, seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    q = statistics.quantiles(ms, n=100)
    return (
        f"{name:<8} n={len(ms)}  mean {statistics.fmean(ms):6.2f} ms  p50 {q[49]:6.2f}"
        f"  p95 {q[94]:6.2f}  p99 {q[98]:6.2f}"
    )


async def run(n: int, db: str, postgres_url: str, warmup: int) -> None:
    async with started(db, postgres_url, None, "default") as stack:
        settings = stack.settings(
            api_rate_per_second=1e6, api_rate_burst=10**6, invoice_seller_nip=DEMO_SELLER_NIP
        )
        store = Store.from_settings(settings)
        ebok = EbokClient(stack.client, store, settings)
        key = (await ApiKeys(store).create("bench", ["registration"])).secret
        # proto given: asyncio sets TCP_NODELAY only on sockets that say IPPROTO_TCP, and
        # without it each answer (headers, then body) waits ~40 ms for a delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        config = uvicorn.Config(
            create_app(ebok, settings), log_config=None, log_level="warning", lifespan="off"
        )
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve(sockets=[sock]))
        facade: list[float] = []
        api: list[float] = []
        headers = {"Authorization": f"Bearer {key}"}
        try:
            async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as http:
                for i in range(warmup + n):
                    tag = uuid.uuid4().hex[:12]
                    began = time.perf_counter()
                    await ebok.register(f"f.{tag}@example.pl", f"f.{tag}")
                    took_facade = time.perf_counter() - began
                    began = time.perf_counter()
                    answer = await http.post(
                        "/v1/registrations",
                        json={"email": f"a.{tag}@example.pl", "login": f"a.{tag}"},
                    )
                    took_api = time.perf_counter() - began
                    assert answer.status_code == 201, answer.text
                    if i >= warmup:
                        facade.append(took_facade)
                        api.append(took_api)
        finally:
            server.should_exit = True
            await task
            await store.aclose()
    print(f"registration start, one at a time, {db}; Temporal: {stack.temporal}")
    print(_figures("facade", facade))
    print(_figures("http api", api))
    extra = [a - f for a, f in zip(api, facade, strict=True)]
    print(f"the API adds {statistics.median(extra) * 1000:.2f} ms at the median")


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.api_latency", description=__doc__)
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    args = p.parse_args()
    asyncio.run(run(args.n, args.db, args.postgres_url, args.warmup))


if __name__ == "__main__":
    main()
