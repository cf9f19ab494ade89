"""argon2id hashes: OWASP's parameters, and interchangeable with the reference implementation's."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebok.passwords import hash_password, verify_password

PASSWORD = "Zielona łąka pod Radomiem 2026"
# Made by argon2-cffi (the reference implementation) with the same parameters: a hash stored
# before the switch to libsodium must still verify.
REFERENCE_HASH = (
    "$argon2id$v=19$m=19456,t=2,p=1$sp6fItz7k4Shsr3+D2FSdQ"
    "$J1szmTfK44Fy6GWdDS1b77VhYa0WhvKNx6uBoqNV7Qs"
)


async def test_hash_is_argon2id_with_owasp_parameters_and_a_fresh_salt() -> None:
    first, second = await hash_password(PASSWORD), await hash_password(PASSWORD)
    assert first.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert first != second  # salted
    assert verify_password(first, PASSWORD) and verify_password(second, PASSWORD)
    assert not verify_password(first, PASSWORD + " ")


def test_a_reference_implementations_hash_verifies() -> None:
    assert verify_password(REFERENCE_HASH, PASSWORD)
    assert not verify_password(REFERENCE_HASH, PASSWORD.upper())


@pytest.mark.parametrize(
    "stored", ["", "garbage", "$argon2id$v=19$m=19456,t=2,p=1$", REFERENCE_HASH[:-5]]
)
def test_a_malformed_hash_is_false_not_an_error(stored: str) -> None:
    assert verify_password(stored, PASSWORD) is False


@settings(max_examples=15, deadline=None)
@given(st.text(min_size=1, max_size=64))
async def test_any_password_verifies_against_its_own_hash_only(password: str) -> None:
    stored = await hash_password(password)
    assert verify_password(stored, password)
    assert not verify_password(stored, password + "x")
