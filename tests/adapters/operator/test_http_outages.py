"""HttpOperator's outage calls and the DSO's signed webhooks, against the local DSO server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.operator.base import (
    IncidentState,
    IncidentStatus,
    NotificationRejected,
    OperatorProtocolError,
    OperatorRejected,
    OperatorUnavailable,
    OutageKind,
    TicketRequest,
)
from adapters.operator.http import INCIDENTS_PATH, OUTAGES_PATH, TICKETS_PATH, HttpOperator
from adapters.operator.sandbox import SandboxOperator, load_registry
from adapters.operator.simulation import DsoSimulation
from adapters.operator.webhook import SIGNATURE_HEADER, encode_notification, sign
from ebok.settings import Settings
from tests.adapters.operator.dso_server import DsoServer

TOKEN, SECRET = "dso-test-token", "whsec-test-5b1f"
PPE = "590380100001001378"  # Mokotów in the bundled registry
T0 = datetime(2026, 7, 1, 14, 0, tzinfo=UTC)
STATUS = IncidentStatus("STO-INC-7", IncidentState.ACKNOWLEDGED, T0, acknowledged_at=T0)


@pytest_asyncio.fixture
async def dso() -> AsyncIterator[DsoServer]:
    sandbox = SandboxOperator(load_registry(), simulation=DsoSimulation())
    async with DsoServer([], token=TOKEN, registry=sandbox, webhook_secret=SECRET) as server:
        yield server


@pytest_asyncio.fixture
async def client(dso: DsoServer) -> AsyncIterator[HttpOperator]:
    operator = HttpOperator(
        dso.url, token=TOKEN, timeout=timedelta(seconds=2), webhook_secret=SECRET
    )
    yield operator
    await operator.aclose()


def request(key: str = "inc-1") -> TicketRequest:
    return TicketRequest(key, PPE, "warszawa-mokotow", T0, "Brak prądu — klatka B")


async def test_storm_at_the_dso_is_seen_over_http(dso: DsoServer, client: HttpOperator) -> None:
    eta = datetime.now(UTC) + timedelta(hours=2)
    simulation = dso.registry.simulation
    storm = await simulation.start_storm("warszawa-mokotow", expected_restoration=eta)
    found = await client.lookup_outage(PPE)
    seen = dso.requests[-1]
    assert (seen.method, seen.path) == ("GET", OUTAGES_PATH)
    assert found.area == "warszawa-mokotow" and found.outage is not None
    assert (found.outage.reference, found.outage.kind) == (storm, OutageKind.UNPLANNED)
    assert found.outage.expected_restoration == eta.replace(microsecond=eta.microsecond)
    await simulation.dispatch_crew(storm)
    status = await client.ticket_status(storm)
    assert dso.requests[-1].path == f"{INCIDENTS_PATH}/{storm}"
    assert status.state is IncidentState.CREW_DISPATCHED and status.acknowledged_at is not None


async def test_ticket_request_on_the_wire(dso: DsoServer, client: HttpOperator) -> None:
    ticket = await client.open_ticket(request())
    seen = dso.requests[-1]
    assert (seen.method, seen.path) == ("POST", TICKETS_PATH)
    assert seen.headers["Idempotency-Key"] == "inc-1"
    assert seen.json() == {
        "key": "inc-1",
        "ppe": PPE,
        "area": "warszawa-mokotow",
        "reported_at": "2026-07-01T14:00:00Z",
        "description": "Brak prądu — klatka B",
    }
    assert await client.open_ticket(request()) == ticket  # the server's 200 for a known key
    assert list(dso.registry.simulation.tickets) == ["inc-1"]


async def test_ticket_for_the_wrong_area_is_rejected(client: HttpOperator) -> None:
    wrong = TicketRequest("inc-2", PPE, "warszawa-wola", T0, "")
    with pytest.raises(OperatorRejected, match="422") as info:
        await client.open_ticket(wrong)
    assert info.value.status_code == 422


@pytest.mark.parametrize("status", [500, 503, 429])
async def test_outage_calls_map_transient_statuses(
    dso: DsoServer, client: HttpOperator, status: int
) -> None:
    dso.fail_next(3, status)
    for call in (
        client.lookup_outage(PPE),
        client.open_ticket(request()),
        client.ticket_status("X"),
    ):
        with pytest.raises(OperatorUnavailable, match=str(status)):
            await call


async def test_down_dso_is_unavailable(dso: DsoServer, client: HttpOperator) -> None:
    dso.registry.down = True
    with pytest.raises(OperatorUnavailable, match="503"):
        await client.lookup_outage(PPE)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"ppe": PPE, "area": "a"}, "missing outage"),
        ({"ppe": "590380100001002740", "area": "a", "outage": None}, "another PPE"),
        ({"ppe": PPE, "area": "", "outage": None}, "area must not be empty"),
        ({"ppe": PPE, "area": "a", "outage": []}, "not an object"),
        ({"ppe": PPE, "area": "a", "outage": {"reference": "R"}}, "missing kind"),
        (
            {
                "ppe": PPE,
                "area": "a",
                "outage": {"reference": "R", "kind": "storm", "state": "open", "started_at": "x"},
            },
            "unknown kind",
        ),
        (
            {
                "ppe": PPE,
                "area": "a",
                "outage": {
                    "reference": "R",
                    "kind": "planned",
                    "state": "open",
                    "started_at": "2026-07-01T10:00:00",
                },
            },
            "started_at has no time zone",
        ),
    ],
)
async def test_malformed_lookup_is_a_protocol_error(
    dso: DsoServer, client: HttpOperator, body: dict[str, object], problem: str
) -> None:
    dso.respond_next(body=body)
    with pytest.raises(OperatorProtocolError, match=problem):
        await client.lookup_outage(PPE)


async def test_malformed_ticket_and_status_are_protocol_errors(
    dso: DsoServer, client: HttpOperator
) -> None:
    dso.respond_next(status=201, body={"reference": "R", "key": "other", "state": "open"})
    with pytest.raises(OperatorProtocolError, match="another key"):
        await client.open_ticket(request())
    dso.respond_next(body={"reference": "R", "key": "inc-1", "state": "fixed"})
    with pytest.raises(OperatorProtocolError, match="unknown state"):
        await client.open_ticket(request())
    dso.respond_next(
        body={"reference": "OTHER", "state": "open", "changed_at": "2026-07-01T10:00Z"}
    )
    with pytest.raises(OperatorProtocolError, match="another incident"):
        await client.ticket_status("R")


# --- webhooks --------------------------------------------------------------------------------


def test_signed_notification_is_believed(client: HttpOperator) -> None:
    body, headers = encode_notification(STATUS, SECRET)
    lowered = {name.lower(): value for name, value in headers.items()}
    assert client.verify_status_notification(body, lowered) == STATUS
    assert json.loads(body)["changed_at"] == "2026-07-01T14:00:00Z"


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (lambda b, h: (b.replace(b"acknowledged", b"restored"), h), "bad signature"),
        (lambda b, h: (b, {}), f"missing {SIGNATURE_HEADER}"),
        (lambda b, h: (b, {SIGNATURE_HEADER: sign(b, "another secret")}), "bad signature"),
        (lambda b, h: (b, {SIGNATURE_HEADER: "sha256=zz"}), "bad signature"),
        (lambda b, h: (b, {SIGNATURE_HEADER: "ążź"}), "bad signature"),
        (lambda b, h: (b"[]", {SIGNATURE_HEADER: sign(b"[]", SECRET)}), "not a JSON object"),
    ],
)
def test_unbelievable_notification_is_rejected(
    client: HttpOperator, tamper: object, reason: str
) -> None:
    body, headers = tamper(*encode_notification(STATUS, SECRET))  # type: ignore[operator]
    with pytest.raises(NotificationRejected, match=reason):
        client.verify_status_notification(body, headers)


def test_without_a_secret_nothing_is_believed(dso: DsoServer) -> None:
    body, headers = encode_notification(STATUS, SECRET)
    with pytest.raises(NotificationRejected, match="EBOK_OPERATOR_WEBHOOK_SECRET"):
        HttpOperator(dso.url).verify_status_notification(body, headers)
    settings = Settings(operator_url=dso.url, operator_webhook_secret=SECRET)
    assert HttpOperator.from_settings(settings).verify_status_notification(body, headers) == STATUS


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
_status_like = st.fixed_dictionaries(
    {},
    optional={
        name: st.one_of(_json, st.datetimes().map(str), st.sampled_from(list(IncidentState)))
        for name in (
            "reference",
            "state",
            "changed_at",
            "acknowledged_at",
            "expected_restoration",
            "restored_at",
            "note",
        )
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.one_of(
        st.binary(max_size=300),
        _json.map(lambda v: json.dumps(v).encode()),
        _status_like.map(lambda v: json.dumps(v).encode()),
    ),
    signed=st.booleans(),
)
def test_any_body_is_a_status_or_the_clear_error(body: bytes, signed: bool) -> None:
    operator = HttpOperator("http://127.0.0.1:9", webhook_secret=SECRET)
    headers = {SIGNATURE_HEADER: sign(body, SECRET) if signed else "sha256=00"}
    try:
        status = operator.verify_status_notification(body, headers)
    except NotificationRejected as e:
        assert e.reason
        return
    assert signed and isinstance(status.state, IncidentState) and status.reference.strip()
    assert status.changed_at.tzinfo is not None


async def test_dso_pushes_signed_status_changes_to_a_receiver(
    dso: DsoServer, client: HttpOperator
) -> None:
    received: list[IncidentStatus] = []

    async def receive(http: web.Request) -> web.Response:
        try:
            received.append(client.verify_status_notification(await http.read(), http.headers))
        except NotificationRejected as e:
            return web.json_response({"message": e.reason}, status=401)
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/dso-webhook", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    dso.webhook_url = f"http://{host}:{port}/dso-webhook"
    try:
        ticket = await client.open_ticket(request())
        await dso.registry.simulation.acknowledge(ticket.reference)
        await dso.registry.simulation.restore(ticket.reference)
        await asyncio.sleep(0)
    finally:
        await runner.cleanup()
    assert dso.pushes == [204, 204, 204]
    assert [(s.reference, s.state) for s in received] == [
        (ticket.reference, IncidentState.OPEN),
        (ticket.reference, IncidentState.ACKNOWLEDGED),
        (ticket.reference, IncidentState.RESTORED),
    ]
    assert received[-1] == await client.ticket_status(ticket.reference)
