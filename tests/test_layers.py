"""The tree keeps its layers: no module imports a package above its own.

From the bottom: the kernel (``ebok``), then ``workflows`` (which sees only the kernel's
models and pure rules), ``adapters``, ``activities``, the service layer (``facade``), the edges
(``entrypoints``), and ``worker.py`` on top, which nothing imports. ``tools`` and ``bench``
stand beside the product: the product never imports them, and the tests only run ``bench`` as a
program.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# package -> the top-level packages of ours it may import (besides itself)
ALLOWED: dict[str, frozenset[str]] = {
    "ebok": frozenset(),
    "workflows": frozenset({"ebok"}),
    "adapters": frozenset({"ebok"}),
    "activities": frozenset({"ebok", "adapters", "workflows"}),
    "facade": frozenset({"ebok", "adapters", "activities", "workflows"}),
    "entrypoints": frozenset({"ebok", "adapters", "activities", "workflows", "facade"}),
    "tools": frozenset({"ebok"}),
    "tests": frozenset(
        {"ebok", "adapters", "activities", "workflows", "facade", "entrypoints", "worker", "tools"}
    ),
}
OURS = frozenset(ALLOWED) | {"worker", "bench"}


def _imported(path: Path) -> set[str]:
    """The top-level names of our packages a module imports, wherever in the module."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & OURS


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_no_module_imports_a_layer_above_its_own(package: str) -> None:
    wrong = {
        str(path.relative_to(ROOT)): sorted(upward)
        for path in _modules(package)
        if (upward := _imported(path) - ALLOWED[package] - {package})
    }
    assert wrong == {}


def test_workflows_see_only_the_kernels_models_and_rules() -> None:
    # The sandbox reruns a workflow module on every new run: it must not pull in the store,
    # settings or templates, which do I/O or read the environment.
    forbidden = ("ebok.store", "ebok.settings", "ebok.templates", "ebok.documents", "ebok.codec")
    wrong = []
    for path in _modules("workflows"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            wrong += [f"{path.name}: {n}" for n in names if n.startswith(forbidden)]
    assert wrong == []


def test_the_layer_check_sees_an_upward_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("import json\nfrom facade.client import EbokClient\nimport worker\n")
    assert _imported(module) == {"facade", "worker"}
