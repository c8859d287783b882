"""The household repository."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import Connection, func, select
from sqlalchemy.dialects.postgresql import insert

from enrolment.db.tables import household


class HouseholdRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, row: dict[str, Any]) -> bool:
        """Insert a household; False when its RSU id is already registered (nothing changes)."""
        inserted = self.connection.execute(
            insert(household)
            .values(**row)
            .on_conflict_do_nothing(index_elements=["rsu_id"])
            .returning(household.c.id)
        ).first()
        return inserted is not None

    def get(self, household_id: UUID) -> dict[str, Any] | None:
        row = (
            self.connection.execute(select(household).where(household.c.id == household_id))
            .mappings()
            .first()
        )
        return dict(row) if row else None

    def by_rsu_id(self, rsu_id: str) -> dict[str, Any] | None:
        row = (
            self.connection.execute(select(household).where(household.c.rsu_id == rsu_id)).mappings().first()
        )
        return dict(row) if row else None

    def count(self) -> int:
        return int(self.connection.execute(select(func.count()).select_from(household)).scalar_one())
