"""Hypothesis on outage reports: valid, or refused naming the field, with nothing written."""

from __future__ import annotations

from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import func, select
from stdnum.ean import calc_check_digit

from ebok.errors import InvalidInput
from ebok.models.outage import ReportRequest
from ebok.settings import Settings
from ebok.store.db import Store
from ebok.store.tables import outage_reports
from facade.client import EbokClient
from tests.conftest import make_settings
from tests.workflows.outage_world import World, an_area

FIELDS = {"ppe", "description", "account_id", "email", "phone", "language", "input"}
GOOD_PPE = "590380100001001378"
digits = st.text(alphabet="0123456789 ", max_size=22)


@given(
    ppe=st.one_of(digits, st.text(max_size=25), st.just(GOOD_PPE)),
    description=st.text(max_size=60),
    email=st.none() | st.emails() | st.text(max_size=30),
    phone=st.none() | st.text(alphabet="+0123456789 -\n", max_size=22),
    account=st.none() | st.text(alphabet="0123456789abcdef", min_size=14, max_size=34),
)
@settings(max_examples=500, deadline=None)
def test_any_report_is_valid_or_names_its_fields(
    ppe: str, description: str, email: str | None, phone: str | None, account: str | None
) -> None:
    fields = {"ppe": ppe, "description": description, "email": email, "phone": phone}
    try:
        req = ReportRequest.model_validate({**fields, "account_id": account})
    except ValidationError as e:
        errors = InvalidInput.from_validation(e).errors
        assert errors and set(errors) <= FIELDS
    else:
        assert len(req.ppe) == 18 and req.ppe[-1] == calc_check_digit(req.ppe[:-1])
        assert 3 <= len(req.description) <= 2000
        assert (req.account_id is None) == (req.email is not None or req.phone is not None)
        assert req.phone is None or (" " not in req.phone and "\n" not in req.phone)
        assert req.email is None or not any(c in req.email for c in "\r\n\0")


@given(serial=st.integers(0, 10**10 - 1), wrong=st.integers(1, 9))
@settings(max_examples=200, deadline=None)
def test_the_ppe_check_digit_decides(serial: int, wrong: int) -> None:
    body = f"5903801{serial:010d}"
    good = body + calc_check_digit(body)
    assert ReportRequest(ppe=good, description="brak prądu", phone="600100200").ppe == good
    bad = body + str((int(calc_check_digit(body)) + wrong) % 10)
    with pytest.raises(ValidationError) as err:
        ReportRequest(ppe=bad, description="brak prądu", phone="600100200")
    assert set(InvalidInput.from_validation(err.value).errors) == {"ppe"}


BAD: list[tuple[dict[str, Any], str]] = [
    ({"ppe": "590380100001001379"}, "ppe"),
    ({"ppe": "12345"}, "ppe"),
    ({"description": "  "}, "description"),
    ({"description": "brak\x00prądu"}, "description"),
    ({"email": "jan@example.pl\r\nBcc: x@example.pl"}, "email"),
    ({"email": "nie-adres"}, "email"),
    ({"email": None, "phone": "12"}, "phone"),
    ({"email": None}, "input"),
    ({"account_id": "0123456789abcdef"}, "input"),  # an account and a contact at once
]


@pytest.fixture
def outage_settings(db_url: str) -> Settings:
    return make_settings(db_url, 25)


@pytest.mark.parametrize(("bad", "field"), BAD)
async def test_bad_report_names_the_field_and_writes_nothing(
    store: Store, outage_settings: Settings, bad: dict[str, Any], field: str
) -> None:
    ebok = EbokClient(cast(Any, None), store, outage_settings)  # refused before Temporal
    fields: dict[str, Any] = {
        "ppe": GOOD_PPE,
        "description": "Brak prądu",
        "email": "jan@example.pl",
    } | bad
    before = await _reports(store)
    with pytest.raises(InvalidInput) as err:
        await ebok.report_outage(fields.pop("ppe"), fields.pop("description"), **fields)
    assert field in err.value.errors
    assert await _reports(store) == before


async def test_a_linked_account_reports_only_its_own_points(
    store: Store, outage_settings: Settings
) -> None:
    world = World(store)
    (mine,) = await world.points(an_area(), linked=True)
    (other,) = await world.points(an_area())
    ebok = EbokClient(cast(Any, None), store, outage_settings)
    before = await _reports(store)
    with pytest.raises(InvalidInput) as err:
        await ebok.report_outage(other.ppe, "Brak prądu", account_id=mine.account)
    assert set(err.value.errors) == {"ppe"} and await _reports(store) == before


async def _reports(store: Store) -> int:
    async with store.begin() as uow:
        return int(
            (await uow.conn.execute(select(func.count()).select_from(outage_reports))).scalar_one()
        )
