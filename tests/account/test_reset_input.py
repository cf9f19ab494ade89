"""A new password outside registration's length rule is refused by name before anything else
is looked at: no link is followed, nothing is staged."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import func, select
from temporalio.testing import WorkflowEnvironment

from ebok.errors import InvalidInput
from ebok.models.registration import PASSWORD_MAX, PASSWORD_MIN
from ebok.store.db import Store
from ebok.store.tables import password_reset_hashes
from facade.client import EbokClient

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
def ebok(env: WorkflowEnvironment, ebok_for: Any) -> EbokClient:
    client: EbokClient = ebok_for(env.client)
    return client


async def staged(store: Store) -> int:
    async with store.begin() as uow:
        found = await uow.conn.execute(select(func.count()).select_from(password_reset_hashes))
        return int(found.scalar_one())


@hsettings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.one_of(
        st.text(max_size=PASSWORD_MIN - 1),
        st.text(min_size=PASSWORD_MAX + 1, max_size=PASSWORD_MAX + 20),
    ),
    st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
)
async def test_a_password_of_the_wrong_length_is_named(
    ebok: EbokClient, store: Store, password: str, token: str
) -> None:
    before = await staged(store)
    with pytest.raises(InvalidInput) as bad:
        await ebok.confirm_password_reset(token, password)
    assert set(bad.value.errors) == {"password"}
    assert len(password) < PASSWORD_MIN or password not in str(bad.value)  # never echoed
    assert await staged(store) == before
