"""Transfer schemes per programme (the newest one applies) and the cross-programme policies."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import orjson
from sqlalchemy import Connection, text


class SchemeRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(
        self,
        *,
        scheme_id: UUID,
        programme_code: str,
        first_period: str,
        body: dict[str, Any],
        created_by: str,
    ) -> None:
        self.connection.execute(
            text(
                'INSERT INTO "payments".scheme (id, programme_code, first_period, body, created_by) '
                "VALUES (:i, :p, :f, CAST(:b AS jsonb), :c)"
            ),
            {
                "i": scheme_id,
                "p": programme_code,
                "f": first_period,
                "b": orjson.dumps(body).decode(),
                "c": created_by,
            },
        )

    def current(self, programme_code: str) -> dict[str, Any] | None:
        row = (
            self.connection.execute(
                text(
                    'SELECT * FROM "payments".scheme WHERE programme_code = :p ORDER BY created_at DESC, id LIMIT 1'
                ),
                {"p": programme_code},
            )
            .mappings()
            .first()
        )
        return dict(row) if row else None

    def get(self, scheme_id: UUID) -> dict[str, Any] | None:
        row = (
            self.connection.execute(text('SELECT * FROM "payments".scheme WHERE id = :i'), {"i": scheme_id})
            .mappings()
            .first()
        )
        return dict(row) if row else None

    def all_current(self) -> list[dict[str, Any]]:
        rows = self.connection.execute(
            text(
                'SELECT DISTINCT ON (programme_code) * FROM "payments".scheme '
                "ORDER BY programme_code, created_at DESC, id"
            )
        ).mappings()
        return [dict(row) for row in rows]

    def programme_using_reference_code(self, reference_code: str) -> str | None:
        """The programme whose newest scheme puts `reference_code` in its instruction references, if any."""
        return self.connection.execute(
            text(
                "SELECT programme_code FROM \"payments\".scheme WHERE body -> 'scheme' ->> 'programme_code' = :r "
                "LIMIT 1"
            ),
            {"r": reference_code},
        ).scalar()

    def set_policy(self, programme_code: str, other_code: str, action: str, updated_by: str) -> None:
        """A policy holds for the pair both ways."""
        for first, second in ((programme_code, other_code), (other_code, programme_code)):
            self.connection.execute(
                text(
                    'INSERT INTO "payments".cross_programme_policy (programme_code, other_code, action, updated_by) '
                    "VALUES (:a, :b, :x, :u) ON CONFLICT (programme_code, other_code) DO UPDATE SET "
                    "action = EXCLUDED.action, updated_by = EXCLUDED.updated_by, updated_at = now()"
                ),
                {"a": first, "b": second, "x": action, "u": updated_by},
            )

    def policies(self) -> list[dict[str, Any]]:
        rows = self.connection.execute(
            text(
                'SELECT programme_code, other_code, action, updated_by FROM "payments".cross_programme_policy '
                "WHERE programme_code < other_code ORDER BY programme_code, other_code"
            )
        ).mappings()
        return [dict(row) for row in rows]
