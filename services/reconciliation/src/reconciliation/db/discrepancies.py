"""Discrepancies: what a person must look at, open until an operator resolves it with a reason."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, select

from reconciliation.db.bulk_update import update_rows
from reconciliation.db.keys import among_many
from reconciliation.db.tables import discrepancy
from shared.bulk import insert_rows

_COLUMNS = (
    "discrepancy_id",
    "subject",
    "category",
    "cycle_id",
    "instruction_id",
    "statement_id",
    "line_position",
    "severity",
    "amount_at_stake",
    "suggested_action",
    "status",
)
#: The columns of a discrepancy a vendor's redemption report found: `_COLUMNS`, then the report and line.
REPORT_COLUMNS = (*_COLUMNS, "report_id", "report_position")
SUPERSEDED_BY = "reconciliation"


class DiscrepancyRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add_new(self, rows: Sequence[tuple[Any, ...]], *, columns: Sequence[str] = _COLUMNS) -> set[UUID]:
        """Rows in `_COLUMNS` (or `columns`) order (status 'open'); one per subject and category ever. Returns
        the new ids."""
        written = insert_rows(
            self.connection,
            discrepancy,
            rows,
            columns=columns,
            conflict=["subject", "category"],
            returning="discrepancy_id",
        )
        return set(written)

    def open_of(self, subjects: Sequence[str]) -> list[tuple[UUID, str, str]]:
        """(id, subject, category) of the open discrepancies of these subjects."""
        if not subjects:
            return []
        rows = self.connection.execute(
            select(discrepancy.c.discrepancy_id, discrepancy.c.subject, discrepancy.c.category).where(
                discrepancy.c.status == "open", discrepancy.c.subject == among_many(self.connection, subjects)
            )
        ).all()
        return [(row[0], row[1], row[2]) for row in rows]

    def supersede(self, resolutions: Sequence[tuple[UUID, str]]) -> None:
        """Close discrepancies that a later match explains (id, why), as resolved by reconciliation itself."""
        now = datetime.now(UTC)
        update_rows(
            self.connection,
            discrepancy,
            key=("discrepancy_id",),
            columns=("status", "resolution", "resolved_by", "resolved_at"),
            rows=[(identifier, "resolved", why, SUPERSEDED_BY, now) for identifier, why in resolutions],
        )

    def lock(self, discrepancy_id: UUID) -> dict[str, Any] | None:
        row = (
            self.connection.execute(
                select(discrepancy).where(discrepancy.c.discrepancy_id == discrepancy_id).with_for_update()
            )
            .mappings()
            .first()
        )
        return dict(row) if row else None

    def resolve(self, discrepancy_id: UUID, *, resolution: str, resolved_by: str) -> dict[str, Any]:
        row = (
            self.connection.execute(
                discrepancy.update()
                .where(discrepancy.c.discrepancy_id == discrepancy_id)
                .values(
                    status="resolved",
                    resolution=resolution,
                    resolved_by=resolved_by,
                    resolved_at=datetime.now(UTC),
                )
                .returning(*discrepancy.c)
            )
            .mappings()
            .one()
        )
        return dict(row)

    def of_cycle(self, cycle_id: UUID, *, category: str | None = None) -> list[dict[str, Any]]:
        query = select(discrepancy).where(discrepancy.c.cycle_id == cycle_id)
        if category is not None:
            query = query.where(discrepancy.c.category == category)
        rows = self.connection.execute(
            query.order_by(discrepancy.c.found_at, discrepancy.c.subject)
        ).mappings()
        return [dict(row) for row in rows]

    def of_statement(
        self, statement_id: UUID, *, positions: tuple[int, int] | None = None
    ) -> list[dict[str, Any]]:
        """The statement's discrepancies; with `positions` (first, last), those of the lines in that range."""
        query = select(discrepancy).where(discrepancy.c.statement_id == statement_id)
        if positions is not None:
            query = query.where(discrepancy.c.line_position.between(*positions))
        rows = self.connection.execute(query.order_by(discrepancy.c.line_position)).mappings()
        return [dict(row) for row in rows]

    def of_report(self, report_id: UUID) -> list[dict[str, Any]]:
        """The discrepancies a vendor's redemption report found (its lines', and its vouchers')."""
        rows = self.connection.execute(
            select(discrepancy)
            .where(discrepancy.c.report_id == report_id)
            .order_by(discrepancy.c.report_position, discrepancy.c.subject)
        ).mappings()
        return [dict(row) for row in rows]
