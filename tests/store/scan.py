"""A scan of the whole store for values that must be gone: every table the schema declares,
every column, text or not (JSON and binary columns included), compared case-insensitively."""

from __future__ import annotations

import json
from collections.abc import Mapping

from sqlalchemy import select

from ebok.store.db import Store
from ebok.store.tables import metadata


def _text(value: object) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


async def scan_store(store: Store, sentinels: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """(table, column, which sentinel) for every place a sentinel value still appears."""
    wanted = {what: value.lower() for what, value in sentinels.items()}
    found: list[tuple[str, str, str]] = []
    async with store.begin() as uow:
        for table in metadata.sorted_tables:
            rows = await uow.conn.execute(select(table))
            for row in rows.mappings():
                for column, value in row.items():
                    if value is None:
                        continue
                    text = _text(value).lower()
                    found += [(table.name, column, w) for w, v in wanted.items() if v in text]
    return found
