"""Print the API's OpenAPI document: ``python -m entrypoints.api.openapi > docs/openapi.json``."""

from __future__ import annotations

import json

from entrypoints.api.app import build_app

__all__ = ["document_text"]


def document_text() -> str:
    return json.dumps(build_app().openapi(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(document_text(), end="")
