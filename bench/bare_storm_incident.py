"""The outage incident's shape on bare Temporal (see ``bench.bare_storm``)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from bench.bare_shapes import RETRY, call
    from bench.bare_storm import (
        INCIDENT,
        NOTIFY_HEARTBEAT,
        NOTIFY_TIMEOUT,
        StormFinalize,
        StormIncidentInput,
        StormKey,
        StormNotify,
    )


@workflow.defn(name=INCIDENT)
class BareStormIncident:
    """``OutageIncident`` for an unplanned outage the DSO does not know yet: the first report
    routes it (lookup, ticket, follow: three activities) and announces the ticket; new reports
    are confirmed in batches after ``confirm_delay``; the ``operator_status`` signal restores
    it (one notice, release); after the grace the reports are closed (finalize)."""

    @workflow.init
    def __init__(self, inp: StormIncidentInput) -> None:
        self._in, self._cfg = inp, inp.config
        self._s = inp.memo
        self._seen: set[str] = set()
        self._wake = 0
        self._handled = 0
        self._restored = False

    @workflow.run
    async def run(self, inp: StormIncidentInput) -> int:
        s = self._s
        if not s.routed:
            await workflow.wait_condition(lambda: s.reports > 0)
            key = StormKey(inp.incident_id)
            for name in ("storm_lookup", "storm_open_ticket", "storm_follow"):
                await self._call(name, key)
            s.routed = True
            await self._announce("ticket_opened")
        while not self._restored:
            if len(self._seen) >= self._cfg.reports_per_run:
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    StormIncidentInput(incident_id=inp.incident_id, config=self._cfg, memo=s)
                )
            await self._step()
        await self._announce("restored")
        await self._call("storm_release", StormKey(inp.incident_id))
        await workflow.sleep(timedelta(seconds=self._cfg.reopen_grace_s))
        await workflow.execute_activity(
            "bench.bare.storm_finalize",
            StormFinalize(incident_id=inp.incident_id, batch_size=self._cfg.batch_size),
            start_to_close_timeout=NOTIFY_TIMEOUT,
            heartbeat_timeout=NOTIFY_HEARTBEAT,
            retry_policy=RETRY,
        )
        await workflow.wait_condition(workflow.all_handlers_finished)
        return s.reports

    async def _step(self) -> None:
        # Like ours, always a deadline: the confirmation batch, else the next status poll.
        now = workflow.time()
        due = self._s.confirm_at if self._s.unconfirmed else None
        wait = (due - now) if due is not None else self._cfg.poll_interval_s
        try:
            await workflow.wait_condition(
                lambda: self._wake != self._handled, timeout=timedelta(seconds=max(wait, 1.0))
            )
        except TimeoutError:
            pass
        self._handled = self._wake
        if self._restored:
            return
        confirm_at = self._s.confirm_at
        if self._s.unconfirmed and confirm_at is not None and workflow.time() >= confirm_at:
            await self._notify(self._s.serial, self._s.kind)

    async def _announce(self, kind: str) -> None:
        self._s.serial += 1
        self._s.kind = kind
        await self._notify(self._s.serial, kind)

    async def _notify(self, serial: int, kind: str) -> None:
        self._s.unconfirmed, self._s.confirm_at = False, None
        await workflow.execute_activity(
            "bench.bare.storm_notify",
            StormNotify(self._in.incident_id, serial, kind, self._cfg.batch_size),
            start_to_close_timeout=NOTIFY_TIMEOUT,
            heartbeat_timeout=NOTIFY_HEARTBEAT,
            retry_policy=RETRY,
        )

    async def _call(self, name: str, req: StormKey) -> None:
        await call(f"bench.bare.{name}", req)

    @workflow.signal
    def attach(self, sig: StormKey) -> None:
        if sig.key in self._seen:
            return
        self._seen.add(sig.key)
        self._s.reports += 1
        if not self._s.unconfirmed:
            self._s.unconfirmed = True
            self._s.confirm_at = workflow.time() + self._cfg.confirm_delay_s
            self._wake += 1
        if len(self._seen) >= self._cfg.reports_per_run:
            self._wake += 1

    @workflow.signal
    def operator_status(self, sig: StormKey) -> None:
        self._restored = True
        self._wake += 1

    @workflow.query
    def reports(self) -> int:
        return self._s.reports
