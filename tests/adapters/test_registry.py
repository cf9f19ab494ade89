"""Adapter discovery through entry points."""

from __future__ import annotations

from importlib.metadata import EntryPoint, EntryPoints
from pathlib import Path

import pytest

from adapters import registry
from adapters.email.memory import MemorySender
from adapters.email.outbox import OutboxSender
from adapters.email.smtp import SmtpSender
from ebok.settings import Settings


def test_built_in_email_adapters_are_registered() -> None:
    assert {"smtp", "outbox", "memory"} <= set(registry.names("email"))
    assert registry.load("email", "smtp") is SmtpSender
    assert registry.load("email", "outbox") is OutboxSender


async def test_build_uses_from_settings(tmp_path: Path) -> None:
    outbox = registry.build("email", "outbox", Settings(outbox_dir=tmp_path))
    assert isinstance(outbox, OutboxSender) and outbox.folder == tmp_path
    assert isinstance(registry.build("email", "memory", Settings()), MemorySender)
    await outbox.aclose()


def test_unknown_name_lists_what_is_installed() -> None:
    with pytest.raises(registry.UnknownAdapter) as info:
        registry.load("email", "sendgrid")
    message = str(info.value)
    assert "email" in message and "'sendgrid'" in message
    assert all(name in message for name in ("smtp", "outbox", "memory"))
    assert isinstance(info.value, LookupError) and info.value.installed == registry.names("email")


def test_unknown_kind_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="payments"):
        registry.names("sms")  # type: ignore[arg-type]


def fake_entry_points(*specs: tuple[str, str]):  # type: ignore[no-untyped-def]
    eps = EntryPoints(EntryPoint(name, value, "ebok.adapters.email") for name, value in specs)

    def select(group: str) -> EntryPoints:
        return eps.select(group=group)

    return select


def test_a_plugin_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        registry, "entry_points", fake_entry_points(("acme", "adapters.email.memory:MemorySender"))
    )
    assert registry.names("email") == ["acme"]
    assert registry.load("email", "acme") is MemorySender
    assert registry.names("payments") == []


def test_the_same_target_twice_is_not_a_conflict(monkeypatch: pytest.MonkeyPatch) -> None:
    target = "adapters.email.memory:MemorySender"
    monkeypatch.setattr(registry, "entry_points", fake_entry_points(("m", target), ("m", target)))
    assert registry.load("email", "m") is MemorySender


def test_two_targets_for_one_name_are_ambiguous(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        registry,
        "entry_points",
        fake_entry_points(
            ("m", "adapters.email.memory:MemorySender"), ("m", "adapters.email.smtp:SmtpSender")
        ),
    )
    with pytest.raises(registry.UnknownAdapter, match="ambiguous"):
        registry.load("email", "m")


def test_an_entry_point_that_is_not_an_adapter_class(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        registry, "entry_points", fake_entry_points(("bad", "adapters.email.mime:render"))
    )
    with pytest.raises(TypeError, match="from_settings"):
        registry.load("email", "bad")
