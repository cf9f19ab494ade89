"""Registration, happy path: register + set_credentials → activation mail arrives at the SMTP
server → token from the link → activate → workflow completed (welcome mail sent).

Latencies: ``start`` (register + set_credentials), ``status`` (the registration's status read
after it: ours and api only, as the mirrors' workflows answer no query), ``mail`` (until the
activation mail is received), ``activate`` (the activate call), ``finish`` (until the workflow
completed) and ``total``. The bare side records the same names. The api side makes the calls
over the HTTP API (``bench/api_driver.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator

from bench.api_driver import HttpFacade, over_http
from bench.bare import BareKey, BareRegistration
from bench.harness import (
    Running,
    Stack,
    Timings,
    WorkerStarter,
    bare_worker,
    mirror_worker,
    our_worker,
)
from bench.inbox import Arrival, Mailbox
from bench.scenarios import Scenario, register
from ebok.models.registration import ActivationOutcome
from ebok.store.db import Store
from facade.client import EbokClient, registration_workflow_id

MAIL_TIMEOUT = 30.0  # below the harness's per-iteration timeout, so the failure says which step
PASSWORD = "Zielona łąka pod Radomiem 2026"  # passes the policy; contains no login or address


def _token(mail: Arrival, link: re.Pattern[str]) -> str:
    found = link.search(mail.text())
    if found is None:
        raise AssertionError(f"no activation link in mail {mail.subject!r}")
    return found.group(1)


@contextlib.asynccontextmanager
async def ours(
    stack: Stack,
    planned: int,
    worker: WorkerStarter = our_worker,
    *,
    via_http: bool = False,
    read_status: bool = True,
) -> AsyncIterator[Running]:
    settings = stack.settings()
    link = re.compile(re.escape(settings.link("aktywacja")) + r"\?token=([A-Za-z0-9_\-]+)")
    # The facade gets its own pool, as the portal's back end would have beside the worker.
    store = Store.from_settings(settings)
    try:
        async with (
            Mailbox(stack.smtpd) as mailbox,
            worker(stack, settings) as pids,
            contextlib.AsyncExitStack() as closing,
        ):
            direct = EbokClient(stack.client, store, settings)
            facade: EbokClient | HttpFacade = direct
            if via_http:
                facade = await closing.enter_async_context(over_http(direct, settings))

            async def one(i: int, timings: Timings) -> str:
                login = f"bench.{stack.tag}.{i}"
                address = f"{login}@ebok.example.pl"
                mail = mailbox.expect(address)
                began = time.perf_counter()
                with timings.measure("start"):
                    reg = await facade.register(address, login)
                    await facade.set_credentials(
                        reg.registration_id, PASSWORD, settings.terms_version, True
                    )
                if read_status:
                    with timings.measure("status"):
                        await facade.registration_status(reg.registration_id)
                with timings.measure("mail"):
                    try:
                        async with asyncio.timeout(MAIL_TIMEOUT):
                            token = _token(await mail, link)
                    except TimeoutError:
                        raise AssertionError(
                            f"no activation mail within {MAIL_TIMEOUT:.0f} s for workflow "
                            f"{registration_workflow_id(reg.registration_id)}"
                        ) from None
                with timings.measure("activate"):
                    outcome = await facade.activate(token)
                if outcome is not ActivationOutcome.ACTIVATED:
                    raise AssertionError(f"registration {i}: activation {outcome.value}")
                workflow_id = registration_workflow_id(reg.registration_id)
                with timings.measure("finish"):
                    await stack.client.get_workflow_handle(workflow_id).result()
                timings.add("total", time.perf_counter() - began)
                return workflow_id

            yield Running(one, pids)
    finally:
        await store.aclose()


@contextlib.asynccontextmanager
async def api(stack: Stack, planned: int) -> AsyncIterator[Running]:
    """Ours, driven over the HTTP API."""
    async with ours(stack, planned, via_http=True) as running:
        yield running


@contextlib.asynccontextmanager
async def mirror(stack: Stack, planned: int) -> AsyncIterator[Running]:
    """Our driver and activities, the bare mirror's workflow code (``bench.mirror_worker``)."""
    async with ours(stack, planned, mirror_worker, read_status=False) as running:
        yield running


@contextlib.asynccontextmanager
async def bare(stack: Stack, planned: int) -> AsyncIterator[Running]:
    async with bare_worker(stack) as worker:
        task_queue = worker.task_queue

        async def one(i: int, timings: Timings) -> str:
            workflow_id = f"bench-bare-{stack.tag}-{i}"
            key = BareKey(key=workflow_id)
            mail = worker.inbox.expect(workflow_id)
            began = time.perf_counter()
            with timings.measure("start"):
                handle = await stack.client.start_workflow(
                    BareRegistration.run, key, id=workflow_id, task_queue=task_queue
                )
                await handle.execute_update(BareRegistration.credentials_set, key)
            with timings.measure("mail"):
                await mail
            with timings.measure("activate"):
                await handle.execute_update(BareRegistration.activate, key)
            with timings.measure("finish"):
                await handle.result()
            timings.add("total", time.perf_counter() - began)
            return workflow_id

        yield Running(one, worker.pids)


register(
    Scenario(
        name="registration",
        unit="registrations",
        ours=ours,
        api=api,
        mirror=mirror,
        bare=bare,
        latencies=("start", "status", "activate"),
        description="sign-up, activation mail, activation, welcome mail",
    )
)
