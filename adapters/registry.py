"""Adapters by kind and name, found through entry points ``ebok.adapters.<kind>``.

Built-ins register in our own pyproject exactly like third-party plugins do, so there is one
way to find any adapter. An adapter is a class with ``from_settings(settings)``.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any, Literal, get_args, overload

from adapters.email.base import EmailSender
from ebok.settings import Settings

__all__ = ["KINDS", "Kind", "UnknownAdapter", "build", "load", "names"]

Kind = Literal["email", "payments", "operator", "post"]
KINDS: tuple[Kind, ...] = get_args(Kind)


class UnknownAdapter(LookupError):
    """No adapter (or more than one) of that kind is installed under that name."""

    def __init__(self, kind: str, name: str, installed: list[str], conflict: str = "") -> None:
        listed = ", ".join(installed) or "none"
        what = (
            f"{kind} adapter {name!r} is ambiguous: {conflict}"
            if conflict
            else (f"no {kind} adapter named {name!r}")
        )
        super().__init__(f"{what} (installed {kind} adapters: {listed})")
        self.kind, self.name, self.installed = kind, name, installed


def _group(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown adapter kind {kind!r}; expected one of {', '.join(KINDS)}")
    return f"ebok.adapters.{kind}"


def names(kind: Kind) -> list[str]:
    """Installed adapter names of ``kind``, sorted."""
    return sorted({ep.name for ep in entry_points(group=_group(kind))})


def load(kind: Kind, name: str) -> type[Any]:
    """The adapter class registered as ``name``; :class:`UnknownAdapter` if there is none."""
    # The same distribution seen twice on sys.path is not a conflict; two targets are.
    found = {ep.value: ep for ep in entry_points(group=_group(kind)) if ep.name == name}
    if len(found) != 1:
        raise UnknownAdapter(kind, name, names(kind), " vs ".join(sorted(found)))
    (ep,) = found.values()
    cls = ep.load()
    if not isinstance(cls, type) or not callable(getattr(cls, "from_settings", None)):
        raise TypeError(f"{kind} adapter {name!r} ({ep.value}) is not a class with from_settings")
    return cls


@overload
def build(kind: Literal["email"], name: str, settings: Settings) -> EmailSender: ...
@overload
def build(kind: Kind, name: str, settings: Settings) -> Any: ...
def build(kind: Kind, name: str, settings: Settings) -> Any:
    """Load ``name`` of ``kind`` and build it with ``from_settings(settings)``."""
    return load(kind, name).from_settings(settings)
