"""What routes are given: the facade the app was made with."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from facade.client import EbokClient

__all__ = ["Ebok"]


async def _ebok(request: Request) -> EbokClient:
    # async: FastAPI would run a plain function in a worker thread, a hop per request
    client: EbokClient = request.app.state.ebok
    return client


Ebok = Annotated[EbokClient, Depends(_ebok)]
