"""The beneficiary projection: who payments may pay, from enrolment's household events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, func, select

from payments.db.tables import beneficiary
from shared.bulk import upsert_objects
from shared.events.contracts import HouseholdFacts

_FIELDS = (
    "rsu_id",
    "head_name",
    "msisdn",
    "operator",
    "preferred_modality",
    "size",
    "region",
    "cercle",
    "commune",
    "village",
    "pmt_score",
    "hea_category",
)


class BeneficiaryRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def upsert_many(self, households: Sequence[HouseholdFacts]) -> None:
        """Insert or refresh beneficiaries in one statement (the set-based path for imports)."""
        upsert_objects(
            self.connection, beneficiary, households, key="household_id", fields=_FIELDS, touch="updated_at"
        )

    def get(self, household_id: UUID) -> dict[str, Any] | None:
        row = (
            self.connection.execute(select(beneficiary).where(beneficiary.c.household_id == household_id))
            .mappings()
            .first()
        )
        return dict(row) if row else None

    def count(self) -> int:
        return int(self.connection.execute(select(func.count()).select_from(beneficiary)).scalar_one())
