"""The household repository: the registry's rows, searches, merges and payment-details history."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert

from enrolment.db.tables import among, enrolment, household, payment_details
from shared.bulk import insert_rows


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

    def add_many(self, rows: Sequence[Mapping[str, Any]]) -> set[UUID]:
        """Insert households set-based; returns the ids written (rows whose RSU id exists are skipped)."""
        return set(insert_rows(self.connection, household, rows, conflict=["rsu_id"], returning="id"))

    def get(self, household_id: UUID, *, for_update: bool = False) -> dict[str, Any] | None:
        query = select(household).where(household.c.id == household_id)
        if for_update:
            query = query.with_for_update()
        row = self.connection.execute(query).mappings().first()
        return dict(row) if row else None

    def by_rsu_id(self, rsu_id: str) -> dict[str, Any] | None:
        row = (
            self.connection.execute(select(household).where(household.c.rsu_id == rsu_id)).mappings().first()
        )
        return dict(row) if row else None

    def ids_by_rsu_id(self, rsu_ids: Iterable[str]) -> dict[str, UUID]:
        rows = self.connection.execute(
            select(household.c.rsu_id, household.c.id).where(household.c.rsu_id.in_(list(rsu_ids)))
        )
        return {row.rsu_id: row.id for row in rows}

    def count(self) -> int:
        return int(self.connection.execute(select(func.count()).select_from(household)).scalar_one())

    def search(
        self,
        *,
        region: str | None,
        commune: str | None,
        programme: str | None,
        status: str | None,
        after: UUID | None,
        limit: int,
    ) -> list[dict[str, Any]]:
        """Households in id order after `after`; `status` is the enrolment status when `programme` is given."""
        query = select(household)
        if region is not None:
            query = query.where(household.c.region == region)
        if commune is not None:
            query = query.where(func.lower(household.c.commune) == commune.lower())
        if programme is not None:
            live = select(enrolment.c.household_id).where(enrolment.c.programme_code == programme)
            live = live.where(
                enrolment.c.status == status if status is not None else enrolment.c.status != "exited"
            )
            query = query.where(household.c.id.in_(live))
        elif status is not None:
            query = query.where(household.c.status == status)
        if after is not None:
            query = query.where(household.c.id > after)
        rows = self.connection.execute(query.order_by(household.c.id).limit(limit)).mappings()
        return [dict(row) for row in rows]

    def candidates_like(
        self, *, nina: str | None, msisdn: str | None, cercle: str, born: int | None
    ) -> list[dict[str, Any]]:
        """Registered households that could duplicate one: same NINA, same phone, or same cercle and age."""
        conditions = []
        if nina:
            conditions.append(household.c.nina == nina)
        if msisdn:
            conditions.append(household.c.msisdn == msisdn)
        if born is not None:
            conditions.append(
                and_(household.c.cercle == cercle, household.c.head_birth_year.between(born - 1, born + 1))
            )
        if not conditions:
            return []
        query = select(household).where(household.c.status == "registered", or_(*conditions))
        return [dict(row) for row in self.connection.execute(query).mappings()]

    def index_keys(self) -> Iterable[Any]:
        """What the duplicate index needs of every registered household, streamed."""
        query = select(
            household.c.id,
            household.c.rsu_id,
            household.c.nina,
            household.c.msisdn,
            household.c.head_name,
            household.c.head_birth_year,
            household.c.cercle,
            household.c.commune,
            household.c.village,
        ).where(household.c.status == "registered")
        return self.connection.execution_options(yield_per=5000).execute(query)

    def all_rsu_ids(self) -> dict[str, UUID]:
        rows = self.connection.execution_options(yield_per=10000).execute(
            select(household.c.rsu_id, household.c.id)
        )
        return {row.rsu_id: row.id for row in rows}

    def change(self, household_id: UUID, values: Mapping[str, Any]) -> None:
        self.connection.execute(
            update(household).where(household.c.id == household_id).values(**values, updated_at=func.now())
        )

    def merge(self, duplicate_id: UUID, *, into: UUID) -> None:
        self.change(duplicate_id, {"status": "merged", "merged_into": into})

    def record_payment_details(
        self, household_id: UUID, *, msisdn: str | None, operator: str | None, effective_from: date, by: str
    ) -> None:
        self.connection.execute(
            payment_details.insert().values(
                household_id=household_id,
                msisdn=msisdn,
                operator=operator,
                effective_from=effective_from,
                recorded_by=by,
            )
        )

    def payment_details_history(self, household_id: UUID) -> list[dict[str, Any]]:
        query = (
            select(payment_details)
            .where(payment_details.c.household_id == household_id)
            .order_by(payment_details.c.id)
        )
        return [dict(row) for row in self.connection.execute(query).mappings()]

    def for_targeting(self, *, household_ids: Sequence[UUID]) -> list[Any]:
        """What targeting compares (status, where a household lives, its PMT score, HEA group), by id."""
        query = select(
            household.c.id,
            household.c.status,
            household.c.region,
            household.c.cercle,
            household.c.commune,
            household.c.pmt_score,
            household.c.hea_category,
        )
        query = query.where(among(household.c.id, household_ids))
        return list(self.connection.execute(query.order_by(household.c.id)))

    def places_of_registered(self, *, regions: Sequence[str]) -> list[tuple[str, str, str]]:
        """Where registered households of these regions live: the distinct (region, cercle, commune)."""
        query = (
            select(household.c.region, household.c.cercle, household.c.commune)
            .where(household.c.region.in_(list(regions)), household.c.status == "registered")
            .distinct()
        )
        return [(row.region, row.cercle, row.commune) for row in self.connection.execute(query)]
