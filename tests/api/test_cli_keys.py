"""``ebok api-key create|list|revoke`` against the store; the key made works on the API."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import pytest

from entrypoints.cli.main import main
from tests.api.conftest import Api
from tests.test_cli import clean_env  # noqa: F401 (fixture)

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def ebok(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


async def test_create_list_revoke(
    api: Api,
    clean_env: pytest.MonkeyPatch,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    clean_env.setenv("EBOK_DATABASE_URL", api.settings.database_url)
    service = f"cli-{uuid.uuid4().hex[:8]}"
    assert await ebok("api-key", "create", "--service", service, "--scopes", "outages,x") == 2
    assert "scopes:" in capsys.readouterr().err
    assert await ebok("api-key", "create", "--service", service, "--scopes", "outages") == 0
    printed = capsys.readouterr()
    key = printed.out.strip()
    assert key.startswith("ebok_") and "shown only now" in printed.err

    assert await ebok("api-key", "list", "--json") == 0
    (mine,) = [k for k in json.loads(capsys.readouterr().out) if k["service"] == service]
    assert mine["scopes"] == ["outages"] and mine["revoked_at"] is None
    assert key not in json.dumps(mine)

    async with httpx.AsyncClient(base_url=api.url) as http:
        headers = {"Authorization": f"Bearer {key}"}
        assert (await http.get("/v1/incidents/INC-1", headers=headers)).status_code != 401
        assert await ebok("api-key", "revoke", mine["id"]) == 0
        assert (await http.get("/v1/incidents/INC-1", headers=headers)).status_code == 401
    assert await ebok("api-key", "revoke", mine["id"]) == 1  # revoked already
    assert "no such API key" in capsys.readouterr().err
