"""Fixtures of the workflow tests that run on the time-skipping server."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from adapters.payments.sandbox import SandboxPayments
from ebok.settings import Settings
from facade.client import EbokClient


@pytest.fixture
def ebok(skipping_env: WorkflowEnvironment, ebok_for: Any) -> EbokClient:
    """The facade on the time-skipping server (a test module may define its own)."""
    client: EbokClient = ebok_for(skipping_env.client)
    return client


@pytest.fixture
def sandbox(settings: Settings) -> SandboxPayments:
    return SandboxPayments.from_settings(settings)
