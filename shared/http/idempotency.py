"""`Idempotency-Key` on writes: the same key and body replay the first answer; another body gets a 409.

The key row is inserted in the request's own transaction, before the work, so a concurrent twin waits on
it and then reads the stored answer; if the work fails, the row rolls back with it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import orjson
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.dialects.postgresql import insert

from shared.auth import Principal
from shared.errors import Conflict
from shared.http.errors import ApiError
from shared.unit_of_work import UnitOfWork

MAX_KEY_LENGTH = 200


def fingerprint(method: str, path: str, body: BaseModel | bytes | None) -> str:
    content = body.model_dump_json().encode() if isinstance(body, BaseModel) else body or b""
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + content).hexdigest()


def _json_response(status: int, payload: Any) -> Response:
    content = payload.model_dump_json().encode() if isinstance(payload, BaseModel) else orjson.dumps(payload)
    return Response(content=content, status_code=status, media_type="application/json")


def run_once(
    uow: UnitOfWork,
    *,
    principal: Principal,
    key: str | None,
    request_fingerprint: str,
    work: Callable[[], tuple[int, Any]],
) -> Response:
    """Run `work` (returning status and payload) and commit, unless this key already has an answer."""
    if key is None:
        status, payload = work()
        response = _json_response(status, payload)
        uow.commit()
        return response
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ApiError(400, "bad_request", f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters")
    table = uow.tables.idempotency_key
    owner = str(principal.token_id)
    claimed = uow.connection.execute(
        insert(table)
        .values(principal=owner, key=key, fingerprint=request_fingerprint)
        .on_conflict_do_nothing()
        .returning(table.c.key)
    ).first()
    if claimed is None:
        stored = uow.connection.execute(
            table.select().where(table.c.principal == owner, table.c.key == key)
        ).one()
        if stored.fingerprint != request_fingerprint:
            raise Conflict(
                "this Idempotency-Key was already used with another request",
                details={"idempotency_key": key},
            )
        return Response(
            content=bytes(stored.response),
            status_code=stored.status_code,
            media_type="application/json",
            headers={"Idempotent-Replayed": "true"},
        )
    status, payload = work()
    response = _json_response(status, payload)
    uow.connection.execute(
        table.update()
        .where(table.c.principal == owner, table.c.key == key)
        .values(status_code=status, response=bytes(response.body))
    )
    uow.commit()
    return response
