"""The payee directory: whom an instruction pays and where they live, for matching and reports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, func, select

from reconciliation.db.tables import payee
from shared.bulk import upsert_objects
from shared.events.contracts import HouseholdFacts

_FIELDS = ("rsu_id", "head_name", "msisdn", "region", "cercle", "commune")


class PayeeRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def upsert_many(self, households: Sequence[HouseholdFacts]) -> None:
        upsert_objects(
            self.connection, payee, households, key="household_id", fields=_FIELDS, touch="updated_at"
        )

    def get(self, household_id: UUID) -> dict[str, Any] | None:
        row = (
            self.connection.execute(select(payee).where(payee.c.household_id == household_id))
            .mappings()
            .first()
        )
        return dict(row) if row else None

    def count(self) -> int:
        return int(self.connection.execute(select(func.count()).select_from(payee)).scalar_one())
