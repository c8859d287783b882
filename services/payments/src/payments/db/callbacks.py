"""Raw provider callbacks: headers and bytes kept before anything reads them, then what became of each."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

import orjson
from sqlalchemy import Connection, text


class CallbackRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def store(self, *, provider: str, method: str, path: str, headers: Mapping[str, str], body: bytes) -> int:
        return int(
            self.connection.execute(
                text(
                    'INSERT INTO "payments".raw_callback (provider, method, path, headers, body) '
                    "VALUES (:p, :m, :u, CAST(:h AS jsonb), :b) RETURNING id"
                ),
                {"p": provider, "m": method, "u": path, "h": orjson.dumps(dict(headers)).decode(), "b": body},
            ).scalar_one()
        )

    def settle(
        self,
        callback_id: int,
        *,
        outcome: str,
        detail: str | None = None,
        payment_id: UUID | None = None,
        event_key: str | None = None,
    ) -> None:
        self.connection.execute(
            text(
                'UPDATE "payments".raw_callback SET outcome = :o, detail = :d, payment_id = :p, event_key = :k '
                "WHERE id = :i"
            ),
            {
                "i": callback_id,
                "o": outcome,
                "d": (detail or "")[:2000] or None,
                "p": payment_id,
                "k": event_key,
            },
        )

    def already_applied(self, event_key: str) -> bool:
        return (
            self.connection.execute(
                text("SELECT 1 FROM \"payments\".raw_callback WHERE event_key = :k AND outcome = 'applied'"),
                {"k": event_key},
            ).first()
            is not None
        )

    def unmatched(self, *, limit: int, offset: int) -> list[dict[str, Any]]:
        rows = self.connection.execute(
            text(
                "SELECT id, provider, method, path, received_at, outcome, detail, convert_from(body, 'UTF8') AS body "
                "FROM \"payments\".raw_callback WHERE outcome IN ('unknown_reference', 'discarded') "
                "ORDER BY id LIMIT :l OFFSET :o"
            ),
            {"l": limit, "o": offset},
        ).mappings()
        return [dict(row) for row in rows]
