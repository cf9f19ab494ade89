"""The customer's data and consents: bad input names the field and stores nothing; good input
is stored, and what billing owns goes to its outbox once. Hypothesis on the validators (postal
code, phone), hand-picked cases through the facade on a real store (SQLite and PostgreSQL).
No Temporal: none of this runs a workflow."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from ebok.errors import InvalidInput, NotFound
from ebok.models.profile import Address, ProfileChange, normalise_phone
from ebok.settings import Settings
from ebok.store.db import Store
from facade.client import EbokClient
from facade.profile import export_billing_changes
from tests.factories import a_linked_account, an_account
from tests.test_registration_input import NoTemporal

on_the_store = pytest.mark.asyncio(loop_scope="session")

MOBILE_PREFIXES = ("50", "51", "53", "57", "60", "66", "69", "72", "73", "78", "79", "88")


@pytest.fixture
def ebok(store: Store, db_url: str) -> EbokClient:
    return EbokClient(NoTemporal(), store, Settings(_env_file=None, database_url=db_url))  # type: ignore[arg-type]


def fields_of(err: ValidationError) -> set[str]:
    return {".".join(map(str, e["loc"])) for e in err.errors()}


# --- the validators, by property --------------------------------------------------------------


@given(st.from_regex(r"\A[0-9]{2}-[0-9]{3}\Z"))
def test_every_nn_nnn_postal_code_is_accepted(code: str) -> None:
    assert Address(street="ul. Prosta 1", postal_code=code, city="Warszawa").postal_code == code


@given(st.text(max_size=12).filter(lambda s: not re.fullmatch(r"\s*[0-9]{2}-[0-9]{3}\s*", s)))
def test_anything_else_is_refused_naming_the_postal_code(code: str) -> None:
    with pytest.raises(ValidationError) as refused:
        ProfileChange(address={"street": "ul. Prosta 1", "postal_code": code, "city": "Łódź"})
    assert fields_of(refused.value) == {"address.postal_code"}


@given(
    st.sampled_from(MOBILE_PREFIXES),
    st.from_regex(r"\A[0-9]{7}\Z"),
    st.sampled_from(["", "+48", "+48 ", "0048", "(+48) "]),
    st.sampled_from(["", " ", "-"]),
)
def test_a_polish_mobile_number_in_any_usual_spelling_becomes_e164(
    prefix: str, rest: str, country: str, sep: str
) -> None:
    digits = prefix + rest
    spelt = country + sep.join((digits[:3], digits[3:6], digits[6:]))
    assert normalise_phone(spelt) == "+48" + digits


@given(st.text(max_size=40))
def test_a_refused_phone_names_the_field_and_never_echoes_it(text: str) -> None:
    try:
        phone = normalise_phone(text)
    except ValueError:
        with pytest.raises(ValidationError) as refused:
            ProfileChange(phone=text)
        assert fields_of(refused.value) == {"phone"}
        assert "input_value" not in str(refused.value)  # the value is never echoed
    else:
        assert re.fullmatch(r"\+[1-9][0-9]{6,14}", phone)  # E.164


@pytest.mark.parametrize(
    "phone",
    ["123", "601 234 56", "601 234 5678", "+48 000 456 789", "tel. 601234567", "60\n1234567"],
)
def test_bad_phones(phone: str) -> None:
    with pytest.raises(ValueError):
        normalise_phone(phone)


# --- through the facade, on the store -----------------------------------------------------------


@on_the_store
async def test_bad_input_names_the_field_and_stores_nothing(ebok: EbokClient, store: Store) -> None:
    account, _, _ = await a_linked_account(store)
    cases: list[tuple[dict[str, Any], set[str]]] = [
        ({"phone": "12"}, {"phone"}),
        (
            {
                "phone": "601234567",
                "address": {"street": "ul. A 1", "postal_code": "00677", "city": "Warszawa"},
            },
            {"address.postal_code"},
        ),  # fmt: skip
        ({"address": {"street": "", "postal_code": "00-677", "city": "W"}}, {"address.street"}),
        (
            {"address": {"street": "Prosta 1", "postal_code": "00-677", "city": "W4"}},
            {"address.city"},
        ),  # fmt: skip
        ({"language": "de"}, {"language"}),
        ({"language": None}, {"language"}),
        ({"notifications": {"invoices": "maybe"}}, {"notifications.invoices"}),
        ({"nickname": "x"}, {"nickname"}),
        ({}, {"input"}),
    ]
    for changes, fields in cases:
        with pytest.raises(InvalidInput) as refused:
            await ebok.update_profile(account, **changes)
        assert set(refused.value.errors) == fields, changes
    profile = await ebok.profile(account)
    assert (profile.phone, profile.address, profile.updated_at) == (None, None, None)
    assert await export_billing_changes(store) == (None, [])
    with pytest.raises(NotFound):
        await ebok.update_profile("0" * 32, phone="601234567")


@on_the_store
async def test_changes_are_stored_and_billing_gets_each_once(
    ebok: EbokClient, store: Store
) -> None:
    await export_billing_changes(store)  # what other tests left
    account, _, partner = await a_linked_account(store)
    unlinked, _ = await an_account(store)
    address = {"street": "ul. Marszałkowska  10/5", "postal_code": "00-590", "city": "Warszawa"}
    profile = await ebok.update_profile(account, phone="601-234-567", address=address)
    assert profile.phone == "+48601234567"
    assert profile.address is not None and profile.address.street == "ul. Marszałkowska 10/5"
    profile = await ebok.update_profile(
        account, language="en", notifications={"reminders": False, "planned_works": False}
    )
    assert profile.language == "en" and profile.phone == "+48601234567"  # kept
    assert (profile.notifications.invoices, profile.notifications.reminders) == (True, False)
    profile = await ebok.update_profile(account, notifications={"invoices": False})
    assert not profile.notifications.reminders  # kinds not named keep their choice
    async with store.begin() as uow:
        assert await uow.profiles.wants(account, "outages")
        assert not await uow.profiles.wants(account, "planned_works")
        assert await uow.profiles.wants(unlinked, "reminders")  # nothing said: every mail
    await ebok.update_profile(unlinked, phone="+48 22 123 45 67")  # no partner: not billing's
    await ebok.update_profile(account, phone="601234567")  # the same number: no change

    batch, changes = await export_billing_changes(store)
    assert batch is not None
    assert [(c.partner_number, c.field) for c in changes] == [
        (partner.number, "phone"),
        (partner.number, "address"),
    ]
    assert changes[0].value == {"phone": "+48601234567"}
    assert changes[1].value["postal_code"] == "00-590"
    assert await export_billing_changes(store) == (None, [])  # exported once
    again = await export_billing_changes(store, batch)  # a lost file printed again
    assert again == (batch, changes)

    await ebok.update_profile(account, phone=None)
    later, removed = await export_billing_changes(store)
    assert later == batch + 1 and [(c.field, c.value) for c in removed] == [
        ("phone", {"phone": None})
    ]


@on_the_store
async def test_consents_given_withdrawn_with_history_and_export(
    ebok: EbokClient, store: Store
) -> None:
    account, _, partner = await a_linked_account(store)
    text = "Zgadzam się na otrzymywanie informacji handlowych e-mailem."
    before = datetime.now(UTC)
    given_ = await ebok.give_consent(account, "marketing_email", "2026-01", "web", text=text)
    assert given_.given and given_.version == "2026-01"
    again = await ebok.give_consent(account, "marketing_email", "2026-01", "web", text=text)
    assert again.since == given_.since  # the same consent again: nothing new
    notices = hashlib.sha256(b"pisma e-mailem").hexdigest()
    await ebok.give_consent(account, "electronic_notices", "1", "mobile", text_sha256=notices)
    between = datetime.now(UTC)
    withdrawn = await ebok.withdraw_consent(account, "electronic_notices", "phone")
    assert not withdrawn.given and withdrawn.channel == "phone"
    nothing = await ebok.withdraw_consent(account, "marketing_phone")  # never given
    assert not nothing.given and nothing.since is None

    history = await ebok.consent_history(account)
    assert [(e.purpose.value, e.action, e.channel) for e in history] == [
        ("marketing_email", "given", "web"),
        ("electronic_notices", "given", "mobile"),
        ("electronic_notices", "withdrawn", "phone"),
    ]
    assert history[0].text_sha256 == hashlib.sha256(text.encode()).hexdigest()
    assert history[2].version == "1" and history[2].text_sha256 == notices
    exported = json_of(await ebok.export_consents(account))
    assert {c["purpose"]: c["given"] for c in exported["current"]} == {
        "marketing_email": True,
        "marketing_phone": False,
        "electronic_notices": False,
    }
    assert len(exported["history"]) == 3 and text not in str(exported)

    async with store.begin() as uow:
        agreed = uow.rodo.electronic_notices_agreed
        assert await agreed(account_id=account, at=between)
        assert await agreed(partner_number=partner.number, at=between)
        assert not await agreed(account_id=account, at=datetime.now(UTC))
        assert not await agreed(partner_number=partner.number, at=before - timedelta(days=1))
        with pytest.raises(ValueError):
            await agreed(at=between)

    for bad, field in (
        ({"purpose": "spam", "version": "1", "text": "x"}, "purpose"),
        ({"purpose": "marketing_phone", "version": "", "text": "x"}, "version"),
        ({"purpose": "marketing_phone", "version": "1", "channel": "fax", "text": "x"}, "channel"),
        ({"purpose": "marketing_phone", "version": "1"}, "text"),
        ({"purpose": "marketing_phone", "version": "1", "text_sha256": "abc"}, "text_sha256"),
    ):
        with pytest.raises(InvalidInput) as refused:
            await ebok.give_consent(account, **bad)
        assert set(refused.value.errors) == {field}
    assert len(await ebok.consent_history(account)) == 3  # nothing written


def json_of(model: Any) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(model.model_dump_json())
    return loaded
