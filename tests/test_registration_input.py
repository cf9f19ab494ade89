"""Bad input to the registration steps: a clear error naming the field, nothing stored, no
workflow started. Hand-picked cases through the facade on a real store, and hypothesis on the
validation itself."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import func, select

from ebok.errors import InvalidInput, NotFound
from ebok.models import registration as m
from ebok.settings import Settings
from ebok.store.db import Store
from ebok.store.tables import registrations
from facade.client import EbokClient


class NoTemporal:
    """Stands where the Temporal client would be: bad input must never get this far."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"Temporal was called ({name}) for input that should be refused")


async def count_registrations(store: Store) -> int:
    async with store.begin() as uow:
        counted = await uow.conn.execute(select(func.count()).select_from(registrations))
        return int(counted.scalar_one())


@pytest.fixture
def refusing(store: Store, db_url: str) -> EbokClient:
    return EbokClient(NoTemporal(), store, Settings(_env_file=None, database_url=db_url))  # type: ignore[arg-type]


LONG_LOCAL = "a" * 65
BAD_SIGN_UPS: list[tuple[dict[str, str], str]] = [
    ({"email": ""}, "email"),
    ({"email": "jan.kowalski"}, "email"),
    ({"email": "jan@"}, "email"),
    ({"email": f"{LONG_LOCAL}@example.pl"}, "email"),
    ({"email": "jan@" + "d" * 250 + ".pl"}, "email"),
    ({"email": "jan@example.pl\r\nBcc: all@example.pl"}, "email"),
    ({"email": "jan@example.pl\n"}, "email"),
    ({"email": "jan\x00@example.pl"}, "email"),
    ({"email": "jan@exa mple.pl"}, "email"),
    ({"email": "jan@-zly-.pl"}, "email"),
    ({"login": ""}, "login"),
    ({"login": "ab"}, "login"),
    ({"login": "x" * 65}, "login"),
    ({"login": "jan kowalski"}, "login"),
    ({"login": "jan\r\nkowalski"}, "login"),
    ({"login": "jan\x00"}, "login"),
    ({"login": "łukasz"}, "login"),
    ({"language": "de"}, "language"),
]


@pytest.mark.parametrize(("bad", "field"), BAD_SIGN_UPS)
async def test_step_one_refuses_naming_the_field(
    refusing: EbokClient, store: Store, bad: dict[str, str], field: str
) -> None:
    fields = {"email": "jan@example.pl", "login": "jan.kowalski", "language": "pl"} | bad
    before = await count_registrations(store)
    with pytest.raises(InvalidInput) as err:
        await refusing.register(**fields)
    assert set(err.value.errors) == {field}
    for value in bad.values():
        if len(value) > 3:
            assert value not in str(err.value)  # never echoes what was typed
    assert await count_registrations(store) == before


async def a_registration(store: Store) -> tuple[str, str, str]:
    rid, tag = uuid.uuid4().hex, uuid.uuid4().hex[:8]
    email, login = f"anna.{tag}@example.pl", f"anna{tag}"
    async with store.begin() as uow:
        await uow.registrations.add(
            rid, email, login, "pl", m.Status.AWAITING_PASSWORD.value, datetime.now(UTC)
        )
    return rid, email, login


BAD_CREDENTIALS: list[tuple[dict[str, Any], str]] = [
    ({"password": ""}, "password"),
    ({"password": "Krótkie"}, "password"),
    ({"password": "x" * (m.PASSWORD_MAX + 1)}, "password"),
    ({"password": "aaaaaaaaaaaa"}, "password"),
    ({"password": "Password1"}, "password"),
    ({"password": "zaq12wsx"}, "password"),
    ({"terms_accepted": False}, "terms_accepted"),
    ({"terms_version": "1999-01"}, "terms_version"),
    ({"terms_version": "2026\n01"}, "terms_version"),
    ({"terms_version": ""}, "terms_version"),
]


@pytest.mark.parametrize(("bad", "field"), BAD_CREDENTIALS)
async def test_step_two_refuses_naming_the_field(
    refusing: EbokClient, store: Store, bad: dict[str, Any], field: str
) -> None:
    rid, _, _ = await a_registration(store)
    fields: dict[str, Any] = {
        "password": "Zielona-Łąka-2026!",
        "terms_version": "2026-01",
        "terms_accepted": True,
    }
    with pytest.raises(InvalidInput) as err:
        await refusing.set_credentials(rid, **(fields | bad))
    assert set(err.value.errors) == {field}
    if field == "password" and bad["password"]:
        assert bad["password"] not in str(err.value)
    async with store.begin() as uow:
        reg = await uow.registrations.get(rid)
    assert reg is not None and reg.password_hash is None and reg.terms_version is None


async def test_password_may_not_contain_the_login(refusing: EbokClient, store: Store) -> None:
    rid, _, login = await a_registration(store)
    with pytest.raises(InvalidInput) as err:
        await refusing.set_credentials(rid, f"My-{login}-2026", "2026-01", True)
    assert "login" in err.value.errors["password"]


async def test_unknown_or_malformed_registration(refusing: EbokClient) -> None:
    with pytest.raises(InvalidInput) as err:
        await refusing.set_credentials("../../etc", "Zielona-Łąka-2026!", "2026-01", True)
    assert set(err.value.errors) == {"registration_id"}
    with pytest.raises(NotFound):
        await refusing.set_credentials(uuid.uuid4().hex, "Zielona-Łąka-2026!", "2026-01", True)


# --- hypothesis on the validation ---------------------------------------------------------------

CONTROL = st.sampled_from(["\r", "\n", "\x00", "\t", "\x1b", "\x7f"])


@given(
    head=st.text(max_size=20),
    control=CONTROL,
    tail=st.text(max_size=20),
    field=st.sampled_from(["email", "login"]),
)
@hsettings(max_examples=300, deadline=None)
def test_control_characters_are_refused_in_email_and_login(
    head: str, control: str, tail: str, field: str
) -> None:
    fields = {"email": "jan@example.pl", "login": "jan.kowalski"}
    fields[field] = f"{head}{control}{tail}"
    with pytest.raises(InvalidInput) as err:
        try:
            m.SignUp.model_validate(fields)
        except Exception as e:
            from pydantic import ValidationError

            assert isinstance(e, ValidationError)
            raise InvalidInput.from_validation(e) from None
    assert set(err.value.errors) == {field}


@given(email=st.text(max_size=80), login=st.text(max_size=80))
@hsettings(max_examples=500, deadline=None)
def test_any_sign_up_is_valid_or_names_its_fields(email: str, login: str) -> None:
    from pydantic import ValidationError

    try:
        ok = m.SignUp.model_validate({"email": email, "login": login})
    except ValidationError as e:
        errors = InvalidInput.from_validation(e).errors
        assert errors and set(errors) <= {"email", "login"}
        assert all(msg for msg in errors.values())
    else:
        assert not any(ord(c) < 32 for c in ok.email + ok.login)
        assert "@" in ok.email and ok.login == ok.login.lower()


@given(password=st.text(min_size=0, max_size=1100))
@hsettings(max_examples=300, deadline=None)
def test_any_password_is_accepted_whole_or_refused_as_password(password: str) -> None:
    from pydantic import ValidationError

    try:
        creds = m.Credentials.model_validate(
            {"password": password, "terms_version": "2026-01", "terms_accepted": True}
        )
    except ValidationError as e:
        assert set(InvalidInput.from_validation(e).errors) == {"password"}
        assert not m.PASSWORD_MIN <= len(password) <= m.PASSWORD_MAX
    else:
        assert creds.password.get_secret_value() == password  # never truncated
