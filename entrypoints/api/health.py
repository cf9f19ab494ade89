"""Health (the process answers) and readiness (Temporal and the database answer too)."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from entrypoints.api.problems import problem, responses
from facade.client import EbokClient

__all__ = ["router"]

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])

_PATIENCE = 3.0  # seconds: a probe must answer before the orchestrator's own timeout


class Health(BaseModel):
    status: str


@router.get("/healthz")
async def healthz() -> Health:
    return Health(status="ok")


async def _temporal(ebok: EbokClient) -> None:
    await ebok.temporal.service_client.check_health(timeout=timedelta(seconds=_PATIENCE))


async def _database(ebok: EbokClient) -> None:
    async with ebok.store.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


@router.get("/readyz", responses=responses(503), response_model=Health)
async def readyz(request: Request) -> Health | JSONResponse:
    ebok: EbokClient = request.app.state.ebok
    down = []
    for name, probe in (("Temporal", _temporal), ("the database", _database)):
        try:
            await asyncio.wait_for(probe(ebok), _PATIENCE)
        except Exception as e:  # any failure means not ready; the reason goes to the log only
            log.warning("readiness: %s unreachable: %s", name, type(e).__name__)
            down.append(name)
    if down:
        return problem(503, f"unreachable: {', '.join(down)}")
    return Health(status="ready")
