"""The sandbox runs a workflow's module again for every new run: a workflow module must not
import another one (each outage report would run the whole incident module too)."""

from __future__ import annotations

import ast
import inspect
import sys

from workflows.catalogue import ALL_WORKFLOWS

WORKFLOW_MODULES = {w.__module__ for w in ALL_WORKFLOWS}


def imported_modules(module: str) -> set[str]:
    tree = ast.parse(inspect.getsource(sys.modules[module]))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_no_workflow_module_imports_another() -> None:
    assert len(WORKFLOW_MODULES) >= 5
    for module in sorted(WORKFLOW_MODULES):
        assert imported_modules(module) & (WORKFLOW_MODULES - {module}) == set(), module
