"""Raw provider callbacks, the inbox: pending ones claimed in batches, then what became of each."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, text


class CallbackRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def claim_pending(self, limit: int) -> list[dict[str, Any]]:
        """Up to `limit` pending callbacks in arrival order, locked; rows another processor holds are skipped."""
        rows = self.connection.execute(
            text(
                "SELECT id, provider, method, path, headers, body, received_at, key, batch "
                'FROM "payments".raw_callback WHERE outcome IS NULL ORDER BY id LIMIT :l FOR UPDATE SKIP LOCKED'
            ),
            {"l": limit},
        ).mappings()
        return [dict(row) for row in rows]

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

    def settle_many(self, outcomes: Sequence[Mapping[str, Any]]) -> None:
        """What became of many callbacks (`id`, `outcome`, `detail`, `payment_id`, `event_key`), one statement."""
        if not outcomes:
            return
        self.connection.execute(
            text(
                'UPDATE "payments".raw_callback r SET outcome = u.outcome, detail = u.detail, '
                "payment_id = u.payment_id, event_key = u.event_key "
                "FROM unnest(CAST(:i AS bigint[]), CAST(:o AS text[]), CAST(:d AS text[]), "
                "CAST(:p AS uuid[]), CAST(:k AS text[])) AS u(id, outcome, detail, payment_id, event_key) "
                "WHERE r.id = u.id"
            ),
            {
                "i": [row["id"] for row in outcomes],
                "o": [row["outcome"] for row in outcomes],
                "d": [(row["detail"] or "")[:2000] or None for row in outcomes],
                "p": [row["payment_id"] for row in outcomes],
                "k": [row["event_key"] for row in outcomes],
            },
        )

    def applied_event_keys(self, event_keys: Iterable[str]) -> set[str]:
        """Which of these provider events were already applied."""
        return set(
            self.connection.execute(
                text(
                    'SELECT event_key FROM "payments".raw_callback '
                    "WHERE event_key = ANY(CAST(:k AS text[])) AND outcome = 'applied'"
                ),
                {"k": list(event_keys)},
            ).scalars()
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
