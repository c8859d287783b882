"""The duplicate-candidate repository: the review queue of possible duplicates."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, func, select, text, update

from enrolment.db.tables import duplicate_candidate


class DuplicateRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def propose(self, candidates: Sequence[dict[str, Any]]) -> int:
        """Queue possible duplicates; a pair already proposed (either way round, any status) is skipped."""
        if not candidates:
            return 0
        written = self.connection.execute(
            text(
                f'INSERT INTO "{duplicate_candidate.schema}".duplicate_candidate '
                "(household_id, duplicate_of, reason, score, import_id) "
                "SELECT * FROM unnest(CAST(:households AS uuid[]), CAST(:of AS uuid[]), CAST(:reasons AS text[]), "
                "CAST(:scores AS int[]), CAST(:imports AS uuid[])) AS c(household_id, duplicate_of, r, s, i) "
                # a household an import planned but another writer registered first is not there: skip it
                f'WHERE EXISTS (SELECT 1 FROM "{duplicate_candidate.schema}".household h WHERE h.id = c.duplicate_of) '
                "ON CONFLICT DO NOTHING"
            ),
            {
                "households": [c["household_id"] for c in candidates],
                "of": [c["duplicate_of"] for c in candidates],
                "reasons": [c["reason"] for c in candidates],
                "scores": [c["score"] for c in candidates],
                "imports": [c.get("import_id") for c in candidates],
            },
        )
        return int(written.rowcount)

    def dismissed_pairs(self) -> list[tuple[UUID, UUID]]:
        rows = self.connection.execute(
            select(duplicate_candidate.c.household_id, duplicate_candidate.c.duplicate_of).where(
                duplicate_candidate.c.status == "dismissed"
            )
        )
        return [(row.household_id, row.duplicate_of) for row in rows]

    def get(self, candidate_id: int, *, lock: bool = False) -> dict[str, Any] | None:
        query = select(duplicate_candidate).where(duplicate_candidate.c.id == candidate_id)
        if lock:
            query = query.with_for_update()
        row = self.connection.execute(query).mappings().first()
        return dict(row) if row else None

    def page(self, *, status: str | None, after: int, limit: int) -> list[dict[str, Any]]:
        query = select(duplicate_candidate).where(duplicate_candidate.c.id > after)
        if status is not None:
            query = query.where(duplicate_candidate.c.status == status)
        rows = self.connection.execute(query.order_by(duplicate_candidate.c.id).limit(limit)).mappings()
        return [dict(row) for row in rows]

    def open_for(self, household_id: UUID) -> list[dict[str, Any]]:
        query = select(duplicate_candidate).where(
            duplicate_candidate.c.status == "open", duplicate_candidate.c.household_id == household_id
        )
        return [
            dict(row) for row in self.connection.execute(query.order_by(duplicate_candidate.c.id)).mappings()
        ]

    def decide(self, candidate_id: int, *, status: str, kept_id: UUID | None, by: str) -> None:
        self.connection.execute(
            update(duplicate_candidate)
            .where(duplicate_candidate.c.id == candidate_id)
            .values(status=status, kept_id=kept_id, decided_by=by, decided_at=func.now())
        )

    def close_open_of(self, household_id: UUID, *, by: str) -> None:
        """A merged household's other open proposals are moot: they close as confirmed merges' side effects."""
        self.connection.execute(
            update(duplicate_candidate)
            .where(
                duplicate_candidate.c.status == "open",
                (duplicate_candidate.c.household_id == household_id)
                | (duplicate_candidate.c.duplicate_of == household_id),
            )
            .values(status="dismissed", decided_by=by, decided_at=func.now())
        )
