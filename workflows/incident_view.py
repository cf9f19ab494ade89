"""How operators see an outage incident: the ``status`` query's answer, the search attributes
and the UI's current-details line, each a pure function of the incident's memo."""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey

with workflow.unsafe.imports_passed_through():
    from ebok.models import outage as m
    from ebok.models.search import (
        EBOK_AREA,
        EBOK_DEADLINE,
        EBOK_INCIDENT,
        EBOK_OUTCOME,
        EBOK_STATUS,
    )
    from workflows.incident_clock import sla_deadline


def incident_status(inp: m.IncidentInput, s: m.IncidentMemo) -> m.IncidentStatus:
    return m.IncidentStatus(
        incident_id=inp.incident_id,
        area=inp.area,
        phase=s.phase,
        kind=s.kind,
        reference=s.reference,
        reports=s.reports,
        customers_restored=s.customers_restored,
        started_at=s.started_at,
        acknowledged_at=s.acknowledged_at,
        eta=s.eta,
        window_end=s.window_end,
        restored_at=s.restored_at,
        escalations=s.escalations,
        entitled=s.entitled,
        merged_into=s.merged_into,
        detail=s.detail,
    )


def search_attributes(
    inp: m.IncidentInput, s: m.IncidentMemo
) -> dict[SearchAttributeKey[Any], Any]:
    values: dict[SearchAttributeKey[Any], Any] = {
        EBOK_STATUS: s.phase.value,
        EBOK_AREA: inp.area[:64],
    }
    if s.reference:
        values[EBOK_INCIDENT] = s.reference
    deadline = None if s.phase.terminal else sla_deadline(s, inp.settings)
    if deadline is not None:
        values[EBOK_DEADLINE] = deadline
    if s.phase.terminal:
        values[EBOK_OUTCOME] = s.phase.value
    return values


def current_details(inp: m.IncidentInput, s: m.IncidentMemo) -> str:
    ref = s.reference or "no operator id yet"
    eta = f", ETA {s.eta:%Y-%m-%d %H:%M} UTC" if s.eta else ""
    extra = f", {s.escalations} escalation(s)" if s.escalations else ""
    extra += ", compensation due" if s.entitled else ""
    extra += f", {s.customers_restored} say power is back" if s.customers_restored else ""
    line = (
        f"Outage incident in {inp.area} ({s.kind.value}, {ref}): {s.phase.value}, "
        f"{s.reports} report(s){eta}{extra}. {s.detail}".strip()
    )
    step = next_action(inp, s)
    return f"{line} Next: {step}" if step else line


def next_action(inp: m.IncidentInput, s: m.IncidentMemo) -> str:
    """What staff should do once the incident has ended (nothing to say while it runs: the
    DSO acts, and the escalations call staff when it does not)."""
    if s.phase == m.Phase.MERGED:
        return f"nothing here; follow {s.merged_into}."
    if not s.phase.terminal or s.ended_at is None:
        return ""
    until = f"{s.ended_at + inp.settings.reopen_grace:%Y-%m-%d %H:%M} UTC"
    reopen = f"`ebok incident {inp.incident_id} reopen` until {until}"
    if s.phase == m.Phase.RESTORED:
        silent = s.reports - s.customers_restored
        check = (
            f"{silent} reporter(s) have not said power is back; if they call without power, "
            f"re-open ({reopen})"
            if silent > 0
            else f"nothing unless customers call without power (re-open: {reopen})"
        )
        if s.entitled:
            check += (
                "; the bonifikata is recorded (`outage_compensations`): customers claim it "
                "from Stoen Operator, point callers to the mail"
            )
        return check + "."
    if s.phase == m.Phase.CANCELLED:
        return (
            "the DSO found no fault in its network; callers should check their own "
            f"installation, or re-open ({reopen}) if the DSO was wrong."
        )
    return f"re-open ({reopen}) if it was closed by mistake."
