"""Registration, happy path: register + set_credentials → activation mail arrives at the SMTP
server → token from the link → activate → workflow completed (welcome mail sent).

Latencies: ``start`` (register + set_credentials), ``mail`` (until the activation mail is
received), ``activate`` (the activate call), ``finish`` (until the workflow completed) and
``total``. The bare side records the same names.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
import uuid
from collections.abc import AsyncIterator
from email.message import EmailMessage

from temporalio.worker import Worker

from bench.bare import BareActivities, BareKey, BareRegistration
from bench.harness import Iteration, Stack, Timings
from bench.scenarios import Scenario, register
from ebok.client import EbokClient, registration_workflow_id
from ebok.devsmtp import DevSmtpServer
from ebok.models.registration import ActivationOutcome
from ebok.store.db import Store
from worker import running_worker

MAIL_TIMEOUT = 30.0  # below the harness's per-iteration timeout, so the failure says which step
PASSWORD = "Zielona łąka pod Radomiem 2026"  # passes the policy; contains no login or address


class Mailbox:
    """Hands each arriving mail to whoever waits for its recipient; others (welcome) are
    dropped. One reader of the SMTP server, so waiters never scan the whole list."""

    def __init__(self, smtpd: DevSmtpServer) -> None:
        self._smtpd = smtpd
        self._waiting: dict[str, asyncio.Future[EmailMessage]] = {}
        self._seen = len(smtpd.received)
        self._task: asyncio.Task[None] | None = None

    def expect(self, address: str) -> asyncio.Future[EmailMessage]:
        arrived: asyncio.Future[EmailMessage] = asyncio.get_running_loop().create_future()
        self._waiting[address.lower()] = arrived
        return arrived

    async def __aenter__(self) -> Mailbox:
        self._task = asyncio.create_task(self._pump())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _pump(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await self._smtpd.wait_for(self._seen + 1, timeout=60)
            received = self._smtpd.received
            for delivery in received[self._seen :]:
                for rcpt in delivery.rcpt_tos:
                    waiter = self._waiting.pop(rcpt.lower(), None)
                    if waiter is not None and not waiter.done():
                        waiter.set_result(delivery.message)
            self._seen = len(received)


def _token(mail: EmailMessage, link: re.Pattern[str]) -> str:
    part = mail.get_body(preferencelist=("plain",))
    found = link.search(part.get_content() if part is not None else "")
    if found is None:
        raise AssertionError(f"no activation link in mail {mail['Subject']!r}")
    return found.group(1)


@contextlib.asynccontextmanager
async def ours(stack: Stack) -> AsyncIterator[Iteration]:
    settings = stack.settings()
    link = re.compile(re.escape(settings.link("aktywacja")) + r"\?token=([A-Za-z0-9_\-]+)")
    # The facade gets its own pool, as the portal's back end would have beside the worker.
    store = Store.from_url(settings.database_url)
    try:
        async with running_worker(stack.client, settings), Mailbox(stack.smtpd) as mailbox:
            facade = EbokClient(stack.client, store, settings)

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
                timings.samples.setdefault("total", []).append(time.perf_counter() - began)
                return workflow_id

            yield one
    finally:
        await store.aclose()


@contextlib.asynccontextmanager
async def bare(stack: Stack) -> AsyncIterator[Iteration]:
    task_queue = f"bench-bare-{uuid.uuid4().hex[:8]}"
    acts = BareActivities()
    worker = Worker(
        stack.client,
        task_queue=task_queue,
        workflows=[BareRegistration],
        activities=[acts.send, acts.redeem, acts.welcome],
    )
    async with worker:

        async def one(i: int, timings: Timings) -> str:
            workflow_id = f"bench-bare-{stack.tag}-{i}"
            key = BareKey(key=workflow_id)
            mail = acts.expect(workflow_id)
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
            timings.samples.setdefault("total", []).append(time.perf_counter() - began)
            return workflow_id

        yield one


register(
    Scenario(
        name="registration",
        unit="registrations",
        ours=ours,
        bare=bare,
        description="sign-up, activation mail, activation, welcome mail",
    )
)
