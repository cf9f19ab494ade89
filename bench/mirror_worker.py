"""``python -m bench.mirror_worker``: the mirror workflows (``bench/mirror_*.py``: the bare
mirror's workflow code under our workflow types) with *our* activities, configured by the same
``EBOK_*`` variables as ``python worker.py``.

The activities are built as ``worker.py`` builds them: ``Adapters.from_settings`` (the
adapters chosen by name in settings) and ``activities.build_activities`` over one store, so
the mirror's activities are ours, with the same store, SMTP relay, PDF and grid operator. Only
the workflow code differs from our side.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

from temporalio.worker import Worker

from activities import Adapters, build_activities
from bench.mirror_einvoice import MirrorEInvoice
from bench.mirror_invoice import MirrorInvoice
from bench.mirror_linking import MirrorLinking
from bench.mirror_registration import MirrorRegistration
from bench.mirror_storm_incident import MirrorStormIncident
from bench.mirror_storm_report import MirrorStormReport
from ebok.settings import Settings
from ebok.store.db import Store
from ebok.temporal import connect, runtime_for

__all__ = ["MIRROR_WORKFLOWS", "main"]

log = logging.getLogger("bench.mirror_worker")

MIRROR_WORKFLOWS: list[type] = [
    MirrorRegistration,
    MirrorLinking,
    MirrorInvoice,
    MirrorEInvoice,
    MirrorStormReport,
    MirrorStormIncident,
]


async def serve(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    client = await connect(settings, runtime_for(settings))
    store = Store.from_settings(settings)
    adapters = Adapters.from_settings(settings)
    try:
        worker = Worker(
            client,
            task_queue=settings.task_queue,
            workflows=MIRROR_WORKFLOWS,
            activities=build_activities(settings, store, adapters),
        )
        async with worker:
            log.info(
                "worker on task queue %r at %s", settings.task_queue, settings.temporal_address
            )
            await stop.wait()
    finally:
        await adapters.payments.aclose()
        await adapters.operator.aclose()
        await adapters.email.aclose()
        await store.aclose()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(serve(Settings()))
    # As bench.bare_worker: skip the interpreter's teardown, which the SDK's threads can abort.
    logging.shutdown()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
