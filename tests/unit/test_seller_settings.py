"""The seller's NIP is required: settings without it, or with a bad one, refuse to load and
name EBOK_INVOICE_SELLER_NIP; `worker.py --dev` has the demo seller's."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ebok.settings import DEMO_SELLER_NIP, DevSettings, Settings


def test_settings_refuse_to_load_without_the_seller_nip(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EBOK_INVOICE_SELLER_NIP", raising=False)
    with pytest.raises(ValidationError, match="EBOK_INVOICE_SELLER_NIP is required"):
        Settings(_env_file=None)
    with pytest.raises(ValidationError, match="EBOK_INVOICE_SELLER_NIP is required"):
        Settings(_env_file=None, invoice_seller_nip="  ")


def test_a_bad_check_digit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EBOK_INVOICE_SELLER_NIP", "1234563219")
    with pytest.raises(ValidationError, match="not a valid NIP"):
        Settings(_env_file=None)


def test_the_nip_is_read_from_the_environment_and_kept_compact(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EBOK_INVOICE_SELLER_NIP", "123-456-32-18")
    assert Settings(_env_file=None).invoice_seller_nip == "1234563218"


def test_dev_settings_have_the_demo_seller(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EBOK_INVOICE_SELLER_NIP", raising=False)
    assert DevSettings(_env_file=None).invoice_seller_nip == DEMO_SELLER_NIP
    monkeypatch.setenv("EBOK_INVOICE_SELLER_NIP", "5252344078")
    assert DevSettings(_env_file=None).invoice_seller_nip == "5252344078"
