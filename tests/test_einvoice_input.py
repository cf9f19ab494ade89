"""Bad input to e-invoice requests: a clear error naming the field, nothing stored, no workflow
started. Hand-picked cases through the facade on a real store, and hypothesis on the models."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from pydantic import ValidationError

from ebok.errors import InvalidInput
from ebok.models import einvoice as m
from ebok.settings import Settings
from ebok.store.db import Store
from facade.client import EbokClient
from tests.factories import a_linked_account
from tests.test_registration_input import NoTemporal


@pytest.fixture
def refusing(store: Store, db_url: str) -> EbokClient:
    return EbokClient(NoTemporal(), store, Settings(_env_file=None, database_url=db_url))  # type: ignore[arg-type]


BAD_REQUESTS: list[tuple[dict[str, str], str]] = [
    ({"partner_number": ""}, "partner_number"),
    ({"partner_number": "12345"}, "partner_number"),
    ({"partner_number": "12345678901"}, "partner_number"),
    ({"partner_number": "12345abcde"}, "partner_number"),
    ({"account_id": ""}, "account_id"),
    ({"account_id": "ABC"}, "account_id"),
    ({"account_id": "x" * 41}, "account_id"),
    ({"terms_version": ""}, "terms_version"),
    ({"terms_version": "2026 01"}, "terms_version"),
    ({"terms_version": "2025-01"}, "terms_version"),  # well-formed, but not the version in force
    ({"terms_version": "2026-01\r\n"}, "terms_version"),
    ({"channel": "fax"}, "channel"),
    ({"channel": ""}, "channel"),
]


@pytest.mark.parametrize(("change", "field"), BAD_REQUESTS)
async def test_bad_request_names_the_field_and_touches_nothing(
    refusing: EbokClient, store: Store, change: dict[str, str], field: str
) -> None:
    account, _, partner = await a_linked_account(store)
    values = {
        "account_id": account,
        "partner_number": partner.number,
        "terms_version": "2026-01",
        "channel": "web",
        **change,
    }
    with pytest.raises(InvalidInput) as refused:
        await refusing.request_einvoice(**values)
    assert set(refused.value.errors) == {field}
    if change[field]:
        assert change[field] not in str(refused.value)  # the rejected value is not echoed
    async with store.begin() as uow:
        assert await uow.consents.history(partner.number) == []


@pytest.mark.parametrize(
    ("change", "field"),
    [({"channel": "pigeon"}, "channel"), ({"by": ""}, "by"), ({"reason": "a\x00b"}, "reason")],
)
async def test_bad_withdrawal_names_the_field(
    refusing: EbokClient, change: dict[str, str], field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await refusing.withdraw_einvoice("1000000101", **change)
    assert set(refused.value.errors) == {field}


async def test_malformed_tokens_are_invalid_without_asking_temporal(refusing: EbokClient) -> None:
    for token in ("", "x" * 64, "A" * 64, "0" * 63, "0" * 65, "-" + "0" * 63, "0" * 64):
        assert await refusing.confirm_einvoice(token) is m.ConfirmOutcome.INVALID


FIELDS = {"account_id", "terms_version", "channel", "input"}


@given(
    account=st.text(max_size=45),
    terms=st.text(max_size=40),
    channel=st.one_of(st.sampled_from(["web", "mobile", "staff", "paper"]), st.text(max_size=8)),
)
@hsettings(max_examples=300, deadline=None)
def test_any_request_is_valid_or_names_its_fields(account: str, terms: str, channel: str) -> None:
    try:
        req = m.Request.model_validate(
            {"account_id": account, "terms_version": terms, "channel": channel}
        )
    except ValidationError as e:
        errors = InvalidInput.from_validation(e).errors
        assert errors and set(errors) <= FIELDS
    else:
        assert req.channel in ("web", "mobile", "staff", "paper")
        assert 16 <= len(req.account_id) <= 40 and req.account_id.isalnum()
        assert 1 <= len(req.terms_version) <= 32
        assert not any(ord(c) < 32 for c in req.terms_version)


@given(channel=st.text(max_size=10), by=st.text(max_size=70), reason=st.text(max_size=520))
@hsettings(max_examples=300, deadline=None)
def test_any_withdrawal_is_valid_or_names_its_fields(channel: str, by: str, reason: str) -> None:
    values: dict[str, Any] = {"channel": channel, "by": by, "reason": reason}
    try:
        w = m.Withdraw.model_validate(values)
    except ValidationError as e:
        assert set(InvalidInput.from_validation(e).errors) <= {"channel", "by", "reason"}
    else:
        assert 1 <= len(w.by) <= 64 and len(w.reason) <= 500
        assert not any(ord(c) < 32 for c in w.by)
