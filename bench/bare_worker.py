"""``python -m bench.bare_worker --address HOST:PORT --task-queue Q --inbox HOST:PORT``: a worker
process hosting the bare workflows and no-op activities, the bare twin of ``python worker.py``.

It is started and measured like ours (a child process, CPU and peak RSS from /proc), logs the
same "worker on task queue" line when its pollers run, and stops on SIGTERM/SIGINT after
draining, so both sides differ only in the code they run.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from bench.bare import BARE_WORKFLOWS, BareActivities

log = logging.getLogger("bench.bare_worker")


async def serve(address: str, namespace: str, task_queue: str, inbox: str) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # The converter our worker and the bench's client use, so payloads cost the same.
    client = await Client.connect(
        address, namespace=namespace, data_converter=pydantic_data_converter
    )
    acts = BareActivities(inbox)
    worker = Worker(client, task_queue=task_queue, workflows=BARE_WORKFLOWS, activities=acts.all())
    try:
        async with worker:
            log.info("worker on task queue %r at %s", task_queue, address)
            await stop.wait()
    finally:
        await acts.aclose()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.bare_worker", description=__doc__)
    p.add_argument("--address", required=True, help="Temporal frontend host:port")
    p.add_argument("--namespace", default="default")
    p.add_argument("--task-queue", required=True)
    p.add_argument("--inbox", required=True, help="host:port of the bench's inbox")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(serve(args.address, args.namespace, args.task_queue, args.inbox))
    # The worker has drained. Threads of the SDK's Rust core can still call into Python while
    # the interpreter finalizes and abort it ("PyGILState_Release ... finalizing", SIGABRT or
    # SIGSEGV; temporalio/sdk-python#300), which the bench would report as a crash: skip that
    # teardown, there is nothing left to clean up.
    logging.shutdown()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
