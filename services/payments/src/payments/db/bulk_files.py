"""Bulk files handed to operators for a provider's portal, and the portal reports they bring back."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, text


class BulkFileRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add_file(self, row: dict[str, Any]) -> None:
        self.connection.execute(
            text(
                'INSERT INTO "payments".bulk_file (id, cycle_id, provider, payments, amount, content, created_by) '
                "VALUES (:id, :cycle_id, :provider, :payments, :amount, :content, :created_by)"
            ),
            row,
        )

    def file(self, file_id: UUID) -> dict[str, Any] | None:
        row = (
            self.connection.execute(
                text('SELECT * FROM "payments".bulk_file WHERE id = :id'), {"id": file_id}
            )
            .mappings()
            .first()
        )
        return dict(row) if row else None

    def report_by_digest(self, digest: str) -> dict[str, Any] | None:
        row = (
            self.connection.execute(
                text('SELECT id, outcome FROM "payments".bulk_report WHERE digest = :d'), {"d": digest}
            )
            .mappings()
            .first()
        )
        return dict(row) if row else None

    def add_report(self, row: dict[str, Any]) -> bool:
        """False when a report with the same digest is already kept (nothing is written)."""
        inserted = self.connection.execute(
            text(
                'INSERT INTO "payments".bulk_report (id, provider, digest, content, outcome, imported_by) '
                "VALUES (:id, :provider, :digest, :content, CAST(:outcome AS jsonb), :imported_by) "
                "ON CONFLICT (digest) DO NOTHING"
            ),
            {**row, "outcome": json.dumps(row["outcome"])},
        ).rowcount
        return bool(inserted)
