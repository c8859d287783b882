"""JSON payloads on the wire: reading request bodies and writing answers with orjson, without detours."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response


class UnreadableBody(ValueError):
    """The request body is not a JSON object."""


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise UnreadableBody(f"body is not valid JSON: {error}") from error
    if not isinstance(parsed, dict):
        raise UnreadableBody("body is not a JSON object")
    return parsed


def json_response(content: Any, status_code: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(content), status_code=status_code, headers=headers, media_type="application/json"
    )
