"""The import-job repository: jobs, their progress and their row-by-row report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, func, select, update

from enrolment.db.tables import import_job, import_row
from shared.bulk import insert_rows


class ImportRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, job: Mapping[str, Any]) -> None:
        self.connection.execute(import_job.insert().values(**job))

    def get(self, import_id: UUID) -> dict[str, Any] | None:
        row = (
            self.connection.execute(select(import_job).where(import_job.c.id == import_id)).mappings().first()
        )
        return dict(row) if row else None

    def set(self, import_id: UUID, **values: Any) -> None:
        self.connection.execute(update(import_job).where(import_job.c.id == import_id).values(**values))

    def started(self, import_id: UUID) -> None:
        self.set(import_id, status="running", started_at=func.now())

    def advance(self, import_id: UUID, *, rows: int, accepted: int, rejected: int, duplicates: int) -> None:
        self.connection.execute(
            update(import_job)
            .where(import_job.c.id == import_id)
            .values(
                rows_done=import_job.c.rows_done + rows,
                accepted=import_job.c.accepted + accepted,
                rejected=import_job.c.rejected + rejected,
                duplicates=import_job.c.duplicates + duplicates,
            )
        )

    def finished(self, import_id: UUID, *, status: str, error: Mapping[str, Any] | None = None) -> None:
        self.set(import_id, status=status, error=error, finished_at=func.now())

    def report(self, rows: Sequence[Mapping[str, Any]]) -> None:
        insert_rows(self.connection, import_row, rows)

    def report_page(
        self, import_id: UUID, *, outcome: str | None, after: int, limit: int
    ) -> list[dict[str, Any]]:
        query = select(import_row).where(import_row.c.import_id == import_id, import_row.c.row_number > after)
        if outcome is not None:
            query = query.where(import_row.c.outcome == outcome)
        rows = self.connection.execute(query.order_by(import_row.c.row_number).limit(limit)).mappings()
        return [dict(row) for row in rows]
