"""The HTTP API over the facade: ``create_app(client, settings)``, served by ``ebok api``.

Resource-shaped endpoints under ``/v1/``, one router per process family; errors are RFC 9457
problems; every endpoint but ``/healthz`` and ``/readyz`` needs a service's API key with the
endpoint's scope. The facade holds every rule: the routers only translate.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from ebok.settings import Settings
from entrypoints.api import health, problems
from entrypoints.api.idempotency import Idempotency
from entrypoints.api.ratelimit import RateLimits
from entrypoints.api.routers import (
    account,
    deletion,
    einvoice,
    invoices,
    linking,
    outages,
    payments,
    registrations,
    sign_in,
    webhooks,
)
from facade.api_keys import ApiKeys
from facade.client import EbokClient

__all__ = ["API_VERSION", "build_app", "create_app"]

API_VERSION = "1.0.0"
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_FASTAPI_422 = {"$ref": "#/components/schemas/HTTPValidationError"}
_PROBLEM_422 = {
    "description": "Invalid input",
    "content": {problems.MEDIA_TYPE: {"schema": _PROBLEM_REF}},
}
_ROUTERS = (
    registrations,
    sign_in,
    linking,
    einvoice,
    invoices,
    payments,
    outages,
    deletion,
    webhooks,
)


def build_app() -> FastAPI:
    """The routes, handlers and document, with nothing connected (the OpenAPI document is made
    from this alone)."""
    app = FastAPI(
        title="eBOK engine API",
        version=API_VERSION,
        description=(
            "Drive the eBOK processes from backend services. Authenticate with "
            "`Authorization: Bearer <API key>`; errors are RFC 9457 problem details."
        ),
        docs_url="/docs",
        redoc_url=None,
    )
    problems.install(app)
    app.include_router(health.router)
    for module in _ROUTERS:
        app.include_router(module.router)
    app.include_router(account.router)
    app.include_router(account.billing)

    def document() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _document(app)
        return app.openapi_schema

    app.openapi = document  # type: ignore[method-assign]
    return app


def _document(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, plus the models of bodies the facade validates itself."""
    doc = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for model in invoices.EXTRA_SCHEMAS:
        found = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(found.pop("$defs", {}))
        schemas[model.__name__] = found
    # Problems are served as application/problem+json (FastAPI files a response model under
    # the route's JSON type).
    # FastAPI's own 422 (HTTPValidationError) is answered by our handler as a problem too.
    for operations in doc["paths"].values():
        for operation in operations.values():
            for status, answer in operation.get("responses", {}).items():
                content = answer.get("content", {})
                schema = content.get("application/json", {}).get("schema")
                if schema == _FASTAPI_422:
                    operation["responses"][status] = _PROBLEM_422
                elif schema == _PROBLEM_REF:
                    content[problems.MEDIA_TYPE] = content.pop("application/json")
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return doc


def create_app(client: EbokClient, settings: Settings) -> FastAPI:
    app = build_app()
    app.state.ebok = client
    app.state.settings = settings
    app.state.api_keys = ApiKeys(client.store)
    app.state.idempotency = Idempotency(client.store, app.state.api_keys)
    app.state.rate_limits = RateLimits(settings.api_rate_per_second, settings.api_rate_burst)
    app.state.customer_rate_limits = RateLimits(
        settings.api_customer_rate_per_minute / 60, settings.api_customer_burst
    )
    return app
