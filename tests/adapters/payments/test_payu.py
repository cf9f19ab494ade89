"""PayUPayments against a local server speaking PayU's REST API (tests/.../payu_server.py)."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters import registry
from adapters.payments.base import (
    NotificationRejected,
    PaymentNotification,
    PaymentRejected,
    PaymentStatus,
    PaymentUnavailable,
    RefundRequest,
)
from adapters.payments.payu import SERVER_MADE_ORDER_IP, PayUPayments
from adapters.testing import PaymentProviderContract, Settle, sample_payment
from ebok.money import Money
from ebok.settings import Settings
from tests.adapters.payments.payu_server import (
    CLIENT_SECRET,
    HASHES,
    POS_ID,
    SECOND_KEY,
    PayUServer,
)

NOTIFY = "https://ebok.example.pl/payu/notify"


@pytest_asyncio.fixture
async def payu() -> AsyncIterator[PayUServer]:
    async with PayUServer() as server:
        yield server


def client_for(server: PayUServer, **overrides: Any) -> PayUPayments:
    args: dict[str, Any] = server.credentials() | {
        "notify_url": NOTIFY,
        "timeout": timedelta(seconds=2),
    }
    return PayUPayments(server.url, **(args | overrides))


@pytest_asyncio.fixture
async def client(payu: PayUServer) -> AsyncIterator[PayUPayments]:
    provider = client_for(payu)
    yield provider
    await provider.aclose()


class TestPayUPaymentsContract(PaymentProviderContract):
    @pytest.fixture
    def provider(self, client: PayUPayments) -> PayUPayments:
        return client

    @pytest.fixture
    def settle(self, payu: PayUServer) -> Settle:
        async def settle(ref: str, status: PaymentStatus) -> tuple[bytes, dict[str, str]]:
            payu.set_status(ref, status.name)
            return payu.notification(ref)

        return settle


def test_registered_and_built_from_settings() -> None:
    assert registry.load("payments", "payu") is PayUPayments
    with pytest.raises(ValueError) as info:
        PayUPayments.from_settings(Settings(payu_pos_id=POS_ID))
    for name in ("CLIENT_ID", "CLIENT_SECRET", "SECOND_KEY", "NOTIFY_URL"):
        assert f"EBOK_PAYU_{name}" in str(info.value)
    assert "EBOK_PAYU_POS_ID" not in str(info.value)
    built = registry.build(
        "payments",
        "payu",
        Settings(
            payu_pos_id=POS_ID,
            payu_client_id="c",
            payu_client_secret=CLIENT_SECRET,
            payu_second_key=SECOND_KEY,
            payu_notify_url=NOTIFY,
        ),
    )
    assert isinstance(built, PayUPayments)
    assert built.base_url == "https://secure.snd.payu.com" and built.notify_url == NOTIFY
    assert CLIENT_SECRET not in repr(built) and SECOND_KEY not in repr(built)


async def test_order_request_as_payu_expects(payu: PayUServer, client: PayUPayments) -> None:
    request = sample_payment(language="en")
    created = await client.create_payment(request)
    oauth, create = payu.requests
    assert oauth.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert b"grant_type=client_credentials" in oauth.body
    assert create.headers["Authorization"].startswith("Bearer ")
    order = create.json()
    assert order["extOrderId"] == request.key
    assert order["totalAmount"] == "24567" and order["currencyCode"] == "PLN"
    assert order["merchantPosId"] == POS_ID and order["notifyUrl"] == NOTIFY
    assert order["continueUrl"] == request.continue_url
    assert order["buyer"] == {"email": "jan.kowalski@example.com", "language": "en"}
    assert order["products"] == [
        {"name": "Faktura FV/2026/02/000101", "unitPrice": "24567", "quantity": "1"}
    ]
    assert created.redirect_url.startswith("https://merch-prod.snd.payu.com/pay/")
    assert payu.orders[created.provider_ref]["extOrderId"] == request.key
    anonymous = await client.create_payment(sample_payment(customer_email=None))
    assert "buyer" not in payu.orders[anonymous.provider_ref]


async def test_key_seen_before_finds_the_order(payu: PayUServer) -> None:
    request = sample_payment()
    first = client_for(payu)
    created = await first.create_payment(request)
    await first.aclose()
    # A retry in another worker: PayU says ERROR_ORDER_NOT_UNIQUE, the adapter looks it up.
    retry = client_for(payu)
    found = await retry.create_payment(request)
    assert found.provider_ref == created.provider_ref and found.key == request.key
    assert found.redirect_url == ""  # PayU does not give the link twice
    assert [r.path for r in payu.requests][-2:] == [
        "/api/v2_1/orders",
        f"/api/v2_1/orders/ext/{request.key}",
    ]
    assert len(payu.orders) == 1
    await retry.aclose()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_token_is_cached_until_it_expires(payu: PayUServer) -> None:
    clock = FakeClock()
    provider = client_for(payu, clock=clock)
    created = await provider.create_payment(sample_payment())
    for _ in range(3):
        await provider.payment_status(created.provider_ref)
    assert payu.tokens_issued == 1
    clock.now += payu.token_ttl - 61  # still more than the renewal margin left
    await provider.payment_status(created.provider_ref)
    assert payu.tokens_issued == 1
    clock.now += 2  # within a minute of expiry: renew before PayU would refuse it
    await provider.payment_status(created.provider_ref)
    assert payu.tokens_issued == 2
    await provider.aclose()


async def test_concurrent_calls_share_one_token_fetch(
    payu: PayUServer, client: PayUPayments
) -> None:
    await asyncio.gather(*(client.create_payment(sample_payment()) for _ in range(5)))
    assert payu.tokens_issued == 1 and len(payu.orders) == 5


async def test_revoked_token_is_fetched_again_once(payu: PayUServer, client: PayUPayments) -> None:
    created = await client.create_payment(sample_payment())
    payu.revoke_tokens()
    state = await client.payment_status(created.provider_ref)
    assert state.status is PaymentStatus.PENDING and payu.tokens_issued == 2
    payu.respond_next(2, status=401, body={"status": {"statusCode": "UNAUTHORIZED"}})
    before = len(payu.requests)
    with pytest.raises(PaymentRejected, match="401 UNAUTHORIZED") as info:
        await client.payment_status(created.provider_ref)
    assert info.value.status_code == 401
    # one call, one new token, one more call: never a loop
    assert [r.path.startswith("/api/") for r in payu.requests[before:]] == [True, False, True]


async def test_wrong_client_secret_is_rejected(payu: PayUServer) -> None:
    provider = client_for(payu, client_secret="wrong")
    with pytest.raises(PaymentRejected, match="authorization: 401") as info:
        await provider.create_payment(sample_payment())
    assert info.value.status_code == 401 and payu.orders == {}
    await provider.aclose()


@pytest.mark.parametrize("prefix", ["/api/", "/pl/"])
@pytest.mark.parametrize("status", [500, 502, 503, 408, 429])
async def test_transient_answers_are_unavailable(
    payu: PayUServer, client: PayUPayments, status: int, prefix: str
) -> None:
    payu.fail_next(1, status, prefix=prefix)
    with pytest.raises(PaymentUnavailable, match=str(status)):
        await client.create_payment(sample_payment())
    await client.create_payment(sample_payment())  # and then it works
    assert len(payu.orders) == 1


async def test_retry_after_is_passed_on(payu: PayUServer, client: PayUPayments) -> None:
    payu.fail_next(1, 429, retry_after="30")
    with pytest.raises(PaymentUnavailable) as info:
        await client.create_payment(sample_payment())
    assert info.value.retry_after == 30.0


@pytest.mark.parametrize(
    ("status", "code"),
    [(400, "ERROR_VALUE_INVALID"), (403, "ERROR_UNKNOWN_MERCHANT_POS"), (404, "DATA_NOT_FOUND")],
)
async def test_client_errors_are_rejected(
    payu: PayUServer, client: PayUPayments, status: int, code: str
) -> None:
    payu.respond_next(status=status, body={"status": {"statusCode": code, "statusDesc": "bad"}})
    with pytest.raises(PaymentRejected, match=f"{status} {code} bad") as info:
        await client.create_payment(sample_payment())
    assert info.value.status_code == status


async def test_timeout_and_refused_connection_are_unavailable(payu: PayUServer) -> None:
    payu.delay = timedelta(seconds=2)
    slow = client_for(payu, timeout=timedelta(milliseconds=200))
    with pytest.raises(PaymentUnavailable, match="did not answer within"):
        await slow.create_payment(sample_payment())
    await slow.aclose()
    url = payu.url
    await payu.__aexit__(None, None, None)
    gone = client_for(payu)
    assert gone.base_url == url
    with pytest.raises(PaymentUnavailable, match="unreachable"):
        await gone.create_payment(sample_payment())
    await gone.aclose()


@pytest.mark.parametrize(
    "body",
    [
        {"orders": []},
        {"orders": [{"orderId": "X", "extOrderId": "k", "status": "WEIRD"}]},
        {"orders": [{"orderId": "X", "extOrderId": "k", "status": "NEW", "currencyCode": "EUR"}]},
        {"orders": ["nope"]},
        {},
    ],
)
async def test_malformed_status_answers_are_unavailable(
    payu: PayUServer, client: PayUPayments, body: dict[str, Any]
) -> None:
    payu.respond_next(status=200, body=body)
    with pytest.raises(PaymentUnavailable, match="malformed"):
        await client.payment_status("X")


async def test_status_mapping(payu: PayUServer, client: PayUPayments) -> None:
    created = await client.create_payment(sample_payment())
    for payu_status, ours in [
        ("NEW", PaymentStatus.PENDING),
        ("PENDING", PaymentStatus.PENDING),
        ("WAITING_FOR_CONFIRMATION", PaymentStatus.WAITING_FOR_CONFIRMATION),
        ("COMPLETED", PaymentStatus.COMPLETED),
        ("CANCELED", PaymentStatus.CANCELED),
    ]:
        payu.set_status(created.provider_ref, payu_status)
        assert (await client.payment_status(created.provider_ref)).status is ours
        event = await client.verify_notification(*payu.notification(created.provider_ref))
        assert event.status is ours


async def test_refund_request_and_a_refund_made_before(
    payu: PayUServer, client: PayUPayments
) -> None:
    created = await client.create_payment(sample_payment())
    payu.set_status(created.provider_ref, "COMPLETED")
    request = RefundRequest("refund-1", created.provider_ref, Money(1000), "Nadpłata")
    result = await client.refund(request)
    sent = payu.requests[-1].json()["refund"]
    assert sent == {
        "extRefundId": "refund-1",
        "amount": "1000",
        "currencyCode": "PLN",
        "description": "Nadpłata",
    }
    assert result.status == "PENDING"
    # The same key from another worker finds the refund and posts nothing.
    other = client_for(payu)
    assert (await other.refund(request)).refund_ref == result.refund_ref
    assert payu.requests[-1].method == "GET"
    with pytest.raises(PaymentRejected, match="another amount"):
        await other.refund(RefundRequest("refund-1", created.provider_ref, Money(5), "x"))
    assert len(payu.refunds[created.provider_ref]) == 1
    await other.aclose()


# --- notifications ------------------------------------------------------------------------------


async def paid_order(payu: PayUServer, client: PayUPayments) -> str:
    created = await client.create_payment(sample_payment())
    payu.set_status(created.provider_ref, "COMPLETED")
    return created.provider_ref


# Every label PayU's SDK accepts (PayU-EMEA/openpayu_php, OpenPayU_Util::verifySignature),
# with the digest it stands for. "SHA" is SHA-1 to the SDK's older releases and SHA-256 to its
# current one: both are believed, told apart by the signature's length.
SPELLINGS = [
    ("MD5", hashlib.md5),
    ("md5", hashlib.md5),
    ("SHA", hashlib.sha1),
    ("SHA", hashlib.sha256),
    ("SHA1", hashlib.sha1),
    ("SHA-1", hashlib.sha1),
    ("SHA256", hashlib.sha256),
    ("SHA-256", hashlib.sha256),
    ("sha-256", hashlib.sha256),
    ("SHA384", hashlib.sha384),
    ("SHA-384", hashlib.sha384),
    ("SHA512", hashlib.sha512),
    ("SHA-512", hashlib.sha512),
]


def signed_with(body: bytes, algorithm: str, digest: Any, key: str = SECOND_KEY) -> str:
    signature = digest(body + key.encode()).hexdigest()
    return f"sender=checkout;signature={signature};algorithm={algorithm};content=DOCUMENT"


@pytest.mark.parametrize(("algorithm", "digest"), SPELLINGS)
async def test_every_algorithm_spelling_payu_accepts(
    payu: PayUServer, client: PayUPayments, algorithm: str, digest: Any
) -> None:
    ref = await paid_order(payu, client)
    body, _ = payu.notification(ref)
    header = signed_with(body, algorithm, digest)
    event = await client.verify_notification(body, {"OpenPayU-Signature": header})
    assert event.status is PaymentStatus.COMPLETED and event.provider_ref == ref
    # The same label over another digest, or another key, is no signature of this body.
    other = hashlib.md5 if digest is not hashlib.md5 else hashlib.sha256
    for wrong in (signed_with(body, algorithm, other), signed_with(body, algorithm, digest, "k")):
        with pytest.raises(NotificationRejected, match="signature does not match"):
            await client.verify_notification(body, {"OpenPayU-Signature": wrong})


@pytest.mark.parametrize("algorithm", sorted(HASHES))
async def test_header_spellings_for_what_the_server_signs(
    payu: PayUServer, client: PayUPayments, algorithm: str
) -> None:
    ref = await paid_order(payu, client)
    body, headers = payu.notification(ref, algorithm)
    event = await client.verify_notification(body, headers)
    assert event.status is PaymentStatus.COMPLETED and event.occurred_at is not None
    x_spelling = {"X-OpenPayU-Signature": headers["OpenPayu-Signature"]}
    assert await client.verify_notification(body, x_spelling) == event
    both = x_spelling | {"OpenPayU-Signature": headers["OpenPayu-Signature"]}
    with pytest.raises(NotificationRejected, match="more than one"):
        await client.verify_notification(body, both)


async def test_signature_check_matches_payu_docs(payu: PayUServer, client: PayUPayments) -> None:
    ref = await paid_order(payu, client)
    body, _ = payu.notification(ref)
    expected = hashlib.md5(body + SECOND_KEY.encode()).hexdigest()  # md5(body + second key)
    header = f"sender=checkout;signature={expected.upper()};algorithm=MD5;content=DOCUMENT"
    assert (await client.verify_notification(body, {"OpenPayU-Signature": header})).key
    for wrong in (
        hashlib.md5(body).hexdigest(),  # no key
        hashlib.md5(SECOND_KEY.encode() + body).hexdigest(),  # key in front
        hashlib.sha256(body + SECOND_KEY.encode()).hexdigest(),  # algorithm label lies
        expected[:-1] + ("0" if expected[-1] != "0" else "1"),  # one digit off
    ):
        header = f"signature={wrong};algorithm=MD5"
        with pytest.raises(NotificationRejected, match="signature does not match"):
            await client.verify_notification(body, {"OpenPayU-Signature": header})
    with pytest.raises(NotificationRejected, match="no algorithm"):
        await client.verify_notification(body, {"OpenPayU-Signature": f"signature={expected}"})
    for unknown in ("SHA3-256", "ROT13", "HMAC-MD5"):
        header = f"signature={expected};algorithm={unknown}"
        with pytest.raises(NotificationRejected, match=f"unsupported .* algorithm {unknown}"):
            await client.verify_notification(body, {"OpenPayU-Signature": header})


async def test_missing_signature_header_is_rejected(payu: PayUServer, client: PayUPayments) -> None:
    ref = await paid_order(payu, client)
    body, headers = payu.notification(ref)
    for unsigned in ({}, {"Content-Type": headers["Content-Type"]}, {"Signature": "x"}):
        with pytest.raises(NotificationRejected, match="missing OpenPayU-Signature"):
            await client.verify_notification(body, unsigned)


async def test_replayed_notification_is_the_same_event(
    payu: PayUServer, client: PayUPayments
) -> None:
    ref = await paid_order(payu, client)
    first = await client.verify_notification(*payu.notification(ref))
    again = await client.verify_notification(*payu.notification(ref, "SHA-256"))
    assert again.event_id == first.event_id  # another body, same order in the same status
    payu.set_status(ref, "CANCELED")  # out of order at PayU's end: a new event, for the caller
    late = await client.verify_notification(*payu.notification(ref))
    assert late.event_id != first.event_id and late.provider_ref == first.provider_ref


async def test_amount_mismatch_is_visible(payu: PayUServer, client: PayUPayments) -> None:
    ref = await paid_order(payu, client)
    event = await client.verify_notification(*payu.notification(ref, totalAmount="100"))
    assert event.amount == Money(100) != sample_payment().amount


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"currencyCode": "EUR"}, "PLN"),
        ({"totalAmount": "245.67"}, "totalAmount"),
        ({"totalAmount": "-5"}, "totalAmount"),
        ({"totalAmount": "0"}, "totalAmount"),
        ({"totalAmount": 245.67}, "totalAmount"),
        ({"totalAmount": "9" * 40}, "totalAmount"),
        ({"status": "REFUNDED"}, "status"),
        ({"extOrderId": 7}, "extOrderId"),
        ({"orderId": 7}, "orderId"),
    ],
)
async def test_signed_but_unusable_bodies_are_rejected(
    payu: PayUServer, client: PayUPayments, change: dict[str, Any], reason: str
) -> None:
    ref = await paid_order(payu, client)
    with pytest.raises(NotificationRejected, match=reason):
        await client.verify_notification(*payu.notification(ref, **change))


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


# verify_notification does no I/O, so no server is needed; the URL is never contacted.
OFFLINE = PayUPayments(
    "http://127.0.0.1:9",
    pos_id=POS_ID,
    client_id="c",
    client_secret=CLIENT_SECRET,
    second_key=SECOND_KEY,
    notify_url=NOTIFY,
)


def _signed(body: bytes) -> dict[str, str]:
    digest = hashlib.md5(body + SECOND_KEY.encode()).hexdigest()
    return {"OpenPayU-Signature": f"sender=1;signature={digest};algorithm=MD5;content=DOCUMENT"}


def _outcome(loop: asyncio.AbstractEventLoop, body: bytes, headers: dict[str, str]) -> Any:
    try:
        return loop.run_until_complete(OFFLINE.verify_notification(body, headers))
    except NotificationRejected as e:
        assert e.reason and len(e.reason) < 100
        return e


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=12,
)
ORDER_VALUES = st.one_of(JSON, st.sampled_from(["PLN", "COMPLETED", "NEW", "12", "0", "x"]))
ORDERS = st.fixed_dictionaries(
    {},
    optional={
        name: ORDER_VALUES
        for name in ("orderId", "extOrderId", "status", "currencyCode", "totalAmount")
    },
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.binary(max_size=300), header=st.text(max_size=200))
def test_random_bytes_and_headers_only_ever_reject(
    loop: asyncio.AbstractEventLoop, body: bytes, header: str
) -> None:
    outcome = _outcome(loop, body, {"OpenPayU-Signature": header})
    assert isinstance(outcome, NotificationRejected)
    assert isinstance(
        _outcome(loop, body, _signed(body)), NotificationRejected | PaymentNotification
    )


@settings(max_examples=200, deadline=None)
@given(document=JSON | st.fixed_dictionaries({"order": ORDERS}, optional={"x": JSON}))
def test_signed_random_json_parses_or_is_rejected(
    loop: asyncio.AbstractEventLoop, document: Any
) -> None:
    body = json.dumps(document).encode()
    outcome = _outcome(loop, body, _signed(body))
    if isinstance(outcome, PaymentNotification):  # only a complete, PLN, positive order
        order = document["order"]
        assert order["currencyCode"] == "PLN" and outcome.amount.grosze > 0
        key = order.get("extOrderId")
        assert outcome.key == (key.strip() if key else None)
    else:
        assert isinstance(outcome, NotificationRejected)


@settings(max_examples=200, deadline=None)
@given(
    spelling=st.sampled_from(SPELLINGS),
    cut=st.integers(min_value=0),
    insert=st.binary(min_size=1, max_size=8),
    flip=st.integers(min_value=1, max_value=255),
    how=st.sampled_from(["insert", "flip", "cut"]),
)
def test_a_tampered_body_never_verifies(
    loop: asyncio.AbstractEventLoop,
    spelling: tuple[str, Any],
    cut: int,
    insert: bytes,
    flip: int,
    how: str,
) -> None:
    algorithm, digest = spelling
    order = {"orderId": "WZHF5FFDRJ140731GUEST000P01", "extOrderId": "inv-1", "status": "NEW"}
    body = json.dumps({"order": order | {"currencyCode": "PLN", "totalAmount": "24567"}}).encode()
    headers = {"OpenPayU-Signature": signed_with(body, algorithm, digest)}
    assert isinstance(_outcome(loop, body, headers), PaymentNotification)
    at = cut % (len(body) + 1)
    if how == "insert":
        forged = body[:at] + insert + body[at:]
    elif how == "flip":
        at = min(at, len(body) - 1)
        forged = body[:at] + bytes([body[at] ^ flip]) + body[at + 1 :]
    else:
        forged = body[:at] + body[at + 1 :] if at < len(body) else body[:-1]
    assert forged != body
    outcome = _outcome(loop, forged, headers)
    assert isinstance(outcome, NotificationRejected)
    assert outcome.reason == "signature does not match"


async def test_an_order_made_elsewhere_has_no_key(payu: PayUServer, client: PayUPayments) -> None:
    """PayU notifies every order of the point of sale, those made in its panel too."""
    ref = await paid_order(payu, client)
    for change in ({"extOrderId": None}, {"extOrderId": ""}):
        event = await client.verify_notification(*payu.notification(ref, **change))
        assert event.key is None and event.provider_ref == ref
        assert event.status is PaymentStatus.COMPLETED and event.amount == Money(24567)
    body, _ = payu.notification(ref)
    document = json.loads(body)
    del document["order"]["extOrderId"]
    absent = json.dumps(document).encode()
    event = await client.verify_notification(absent, {"OpenPayU-Signature": payu.sign(absent)})
    assert event.key is None


# --- the customer's address ---------------------------------------------------------------------


@pytest.mark.parametrize("ip", ["203.0.113.7", "2001:db8::17"])
async def test_the_customers_address_goes_into_the_order(
    payu: PayUServer, client: PayUPayments, ip: str
) -> None:
    created = await client.create_payment(sample_payment(customer_ip=ip))
    assert payu.orders[created.provider_ref]["customerIp"] == ip


async def test_an_order_made_with_no_customer_present(
    payu: PayUServer, client: PayUPayments
) -> None:
    created = await client.create_payment(sample_payment(customer_ip=None))
    assert payu.orders[created.provider_ref]["customerIp"] == SERVER_MADE_ORDER_IP


@pytest.mark.parametrize("ip", ["", "localhost", "256.1.1.1", "1.2.3", "::g", "1.2.3.4 "])
def test_a_customer_address_that_is_none(ip: str) -> None:
    with pytest.raises(ValueError, match="customer_ip"):
        sample_payment(customer_ip=ip)


# --- capture and cancel on the wire -------------------------------------------------------------


async def waiting_order(payu: PayUServer, client: PayUPayments) -> str:
    created = await client.create_payment(sample_payment())
    payu.set_status(created.provider_ref, "WAITING_FOR_CONFIRMATION")
    return created.provider_ref


async def test_capture_is_a_status_update(payu: PayUServer, client: PayUPayments) -> None:
    ref = await waiting_order(payu, client)
    await client.capture_payment(ref)
    sent = payu.requests[-1]
    assert (sent.method, sent.path) == ("PUT", f"/api/v2_1/orders/{ref}/status")
    assert sent.json() == {"orderId": ref, "orderStatus": "COMPLETED"}
    assert sent.headers["Authorization"].startswith("Bearer ")
    assert payu.orders[ref]["status"] == "COMPLETED"
    before = len(payu.requests)
    await client.capture_payment(ref)  # PayU refuses, the order is completed: no error
    assert [(r.method, r.path) for r in payu.requests[before:]] == [
        ("PUT", f"/api/v2_1/orders/{ref}/status"),
        ("GET", f"/api/v2_1/orders/{ref}"),
    ]


async def test_cancel_is_a_delete(payu: PayUServer, client: PayUPayments) -> None:
    ref = await waiting_order(payu, client)
    await client.cancel_payment(ref)
    sent = payu.requests[-1]
    assert (sent.method, sent.path, sent.body) == ("DELETE", f"/api/v2_1/orders/{ref}", b"")
    assert payu.orders[ref]["status"] == "CANCELED"
    await client.cancel_payment(ref)
    with pytest.raises(PaymentRejected, match="capture: 400 ERROR_ORDER_NOT_WAITING"):
        await client.capture_payment(ref)


@pytest.mark.parametrize("status", [503, 429])
async def test_capture_and_cancel_when_payu_is_down(
    payu: PayUServer, client: PayUPayments, status: int
) -> None:
    ref = await waiting_order(payu, client)
    payu.fail_next(1, status)
    with pytest.raises(PaymentUnavailable, match=str(status)):
        await client.capture_payment(ref)
    payu.fail_next(1, status)
    with pytest.raises(PaymentUnavailable, match=str(status)):
        await client.cancel_payment(ref)
    assert payu.orders[ref]["status"] == "WAITING_FOR_CONFIRMATION"
