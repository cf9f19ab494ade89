"""Generated requests against every operation of the committed OpenAPI document (schemathesis
draws them from the schemas, valid and not): never a 5xx, never a traceback or an exception's
name in a body, and every refusal a problem document. The app runs with a worker, so requests
that are valid do their real work."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from temporalio.testing import WorkflowEnvironment

from ebok.store.db import Store
from tests.api.conftest import Api
from tests.conftest import worker_for

pytestmark = pytest.mark.asyncio(loop_scope="session")

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
SCHEMA = schemathesis.openapi.from_dict(json.loads(DOCUMENT.read_text()))
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]  # type: ignore[union-attr]  # an Err (a broken document) fails here
EXAMPLES = 25  # per operation and database; derandomized, so every run sends the same ones
LEAKS = ("Traceback", 'File "', "sqlalchemy", "temporalio.", "Error(")


def check(response: Any, label: str) -> None:
    text = response.text
    assert response.status_code < 500, f"{label}: {response.status_code} {text[:300]}"
    for leak in LEAKS:
        assert leak not in text, f"{label}: {leak!r} in the body: {text[:300]}"
    if response.status_code >= 400:
        kind = ",".join(response.headers.get("content-type", []))  # values come as lists
        assert kind == "application/problem+json", f"{label}: {response.status_code} as {kind}"


def fuzz(operation: Any, base_url: str, key: str) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def one(case: Any) -> None:
        headers = {**(case.headers or {}), "Authorization": f"Bearer {key}"}
        response = case.call(base_url=base_url, headers=headers, timeout=30)
        check(response, f"{operation.method.upper()} {operation.path}")

    one()


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: f"{op.method} {op.path}")
async def test_no_generated_request_breaks_the_api(
    api: Api, env: WorkflowEnvironment, store: Store, operation: Any
) -> None:
    key = await api.key()
    async with worker_for(env.client, api.settings, store):
        # The blocking client runs in a thread; the app and the worker go on in this loop.
        await asyncio.to_thread(fuzz, operation, api.url, key)
