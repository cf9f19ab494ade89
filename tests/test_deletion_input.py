"""Bad input to account deletion and the export: a clear error naming the field, nothing
stored, no workflow started. Hand-picked cases through the facade on a real store, and
hypothesis on the models."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import func, select

from ebok.errors import InvalidInput, NotFound
from ebok.models import deletion as m
from ebok.settings import Settings
from ebok.store import tables as t
from ebok.store.db import Store
from facade.client import EbokClient
from tests.factories import an_account
from tests.test_registration_input import NoTemporal


@pytest.fixture
def refusing(store: Store, db_url: str) -> EbokClient:
    return EbokClient(NoTemporal(), store, Settings(_env_file=None, database_url=db_url))  # type: ignore[arg-type]


async def deletion_links(store: Store) -> int:
    async with store.begin() as uow:
        counted = await uow.conn.execute(
            select(func.count())
            .select_from(t.one_time_tokens)
            .where(t.one_time_tokens.c.purpose == m.LINK_PURPOSE)
        )
        return int(counted.scalar_one())


@pytest.mark.parametrize(
    ("account", "channel", "field"),
    [
        ("", "web", "account_id"),
        ("ABC", "web", "account_id"),
        ("x" * 41, "web", "account_id"),
        ("0123456789abcdef\r\n", "web", "account_id"),
        (None, "fax", "channel"),
        (None, "", "channel"),
    ],
)
async def test_bad_request_names_the_field_and_touches_nothing(
    refusing: EbokClient, store: Store, account: str | None, channel: str, field: str
) -> None:
    real, _ = await an_account(store)
    before = await deletion_links(store)
    with pytest.raises(InvalidInput) as refused:
        await refusing.request_deletion(real if account is None else account, channel)
    assert set(refused.value.errors) == {field}
    assert await deletion_links(store) == before


async def test_an_unknown_account_is_not_found_before_temporal(refusing: EbokClient) -> None:
    with pytest.raises(NotFound):
        await refusing.request_deletion("0123456789abcdef0123456789abcdef")
    with pytest.raises(NotFound):
        await refusing.export_account_data("0123456789abcdef0123456789abcdef")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"by": "robot"}, "by"),
        ({"by": "staff"}, "staff"),  # staff must say who they are
        ({"by": "staff", "staff": "a\nb"}, "staff"),
        ({"reason": "a\x00b"}, "reason"),
        ({"reason": "x" * 501}, "reason"),
    ],
)
async def test_bad_cancel_names_the_field(
    refusing: EbokClient, change: dict[str, str], field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await refusing.cancel_deletion("0123456789abcdef0123456789abcdef", **change)
    assert set(refused.value.errors) == {field}


async def test_malformed_tokens_are_invalid_without_asking_temporal(refusing: EbokClient) -> None:
    for token in ("", "x" * 64, "A" * 64, "0" * 63, "0" * 65, "-" + "0" * 63, "0" * 64):
        answer = await refusing.confirm_deletion(token)
        assert answer.outcome is m.ConfirmOutcome.INVALID and answer.erase_at is None


@given(
    by=st.one_of(st.sampled_from(["sign_in", "customer", "staff"]), st.text(max_size=8)),
    staff=st.text(max_size=70),
    reason=st.text(max_size=520),
)
@hsettings(max_examples=300, deadline=None)
def test_any_cancel_is_valid_or_names_its_fields(by: str, staff: str, reason: str) -> None:
    try:
        c = m.Cancel.model_validate({"by": by, "staff": staff, "reason": reason})
    except ValidationError as e:
        errors = InvalidInput.from_validation(e).errors
        assert errors and set(errors) <= {"by", "staff", "reason"}
    else:
        assert c.by in ("sign_in", "customer", "staff")
        assert len(c.staff) <= 64 and not any(ord(ch) < 32 for ch in c.staff)
        assert c.by != "staff" or c.staff.strip()
        assert len(c.reason) <= 500
