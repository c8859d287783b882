"""The enrolment repository: enrolments as domain objects, their transition history, paid cycles."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, Select, func, select, text

from enrolment.db.tables import enrolment, enrolment_transition, household, temporary_enrolment
from enrolment.domain.enrolments import CommunityValidation, Enrolment, TemporaryEnrolment
from shared.bulk import insert_rows

_COLUMNS = (
    enrolment,
    temporary_enrolment.c.shock,
    temporary_enrolment.c.ends_on,
    temporary_enrolment.c.max_cycles,
    temporary_enrolment.c.paid_cycles,
)


def _joined() -> Select[Any]:
    return select(*_COLUMNS).select_from(
        enrolment.outerjoin(temporary_enrolment, temporary_enrolment.c.enrolment_id == enrolment.c.id)
    )


def enrolment_of(row: Any) -> Enrolment:
    """The domain enrolment of a stored row (its history stays in the table; only new moves are kept)."""
    temporary = TemporaryEnrolment(row.shock, row.ends_on, row.max_cycles) if row.shock is not None else None
    validation = (
        CommunityValidation(row.validated_by, row.validated_at, row.validated_where)
        if row.validated_by is not None
        else None
    )
    return Enrolment(
        household_id=row.household_id,
        programme_code=row.programme_code,
        registered_at=row.registered_at,
        temporary=temporary,
        id=row.id,
        status=row.status,
        started_on=row.started_on,
        validation=validation,
        exit_reason=row.exit_reason,
    )


class EnrolmentRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add_many(self, enrolments: Sequence[Enrolment]) -> set[UUID]:
        """Insert new enrolments; a household already enrolled (not exited) in the programme is skipped.

        Returns the ids written. The live-enrolment unique index decides, so concurrent requests never
        enrol a household twice.
        """
        if not enrolments:
            return set()
        written = set(
            self.connection.execute(
                text(
                    f'INSERT INTO "{enrolment.schema}".enrolment (id, household_id, programme_code, status, registered_at) '
                    "SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:households AS uuid[]), "
                    "CAST(:programmes AS text[]), CAST(:statuses AS text[]), CAST(:at AS timestamptz[])) "
                    "ON CONFLICT DO NOTHING RETURNING id"
                ),
                {
                    "ids": [e.id for e in enrolments],
                    "households": [e.household_id for e in enrolments],
                    "programmes": [e.programme_code for e in enrolments],
                    "statuses": [e.status for e in enrolments],
                    "at": [e.registered_at for e in enrolments],
                },
            ).scalars()
        )
        temporary = [
            {
                "enrolment_id": e.id,
                "shock": e.temporary.shock,
                "ends_on": e.temporary.ends_on,
                "max_cycles": e.temporary.max_cycles,
                "paid_cycles": 0,
            }
            for e in enrolments
            if e.temporary is not None and e.id in written
        ]
        insert_rows(self.connection, temporary_enrolment, temporary)
        self.record_history([e for e in enrolments if e.id in written], first=True)
        return written

    def get(self, enrolment_id: UUID, *, lock: bool = False) -> Enrolment | None:
        query = _joined().where(enrolment.c.id == enrolment_id)
        if lock:
            query = query.with_for_update(of=enrolment)
        row = self.connection.execute(query).first()
        return enrolment_of(row) if row else None

    def many(self, enrolment_ids: Iterable[UUID], *, lock: bool = False) -> list[Enrolment]:
        query = _joined().where(enrolment.c.id.in_(list(enrolment_ids))).order_by(enrolment.c.id)
        if lock:
            query = query.with_for_update(of=enrolment)
        return [enrolment_of(row) for row in self.connection.execute(query)]

    def matching(
        self,
        *,
        programme: str | None,
        status: str | None = None,
        region: str | None = None,
        cercle: str | None = None,
        commune: str | None = None,
        household_ids: Sequence[UUID] | None = None,
        lock: bool = False,
    ) -> list[Enrolment]:
        """Enrolments by programme, status, where their household lives, or household."""
        query = _joined()
        if region is not None or cercle is not None or commune is not None:
            query = query.join(household, household.c.id == enrolment.c.household_id)
            if region is not None:
                query = query.where(household.c.region == region)
            if cercle is not None:
                query = query.where(household.c.cercle == cercle)
            if commune is not None:
                query = query.where(func.lower(household.c.commune) == commune.lower())
        if programme is not None:
            query = query.where(enrolment.c.programme_code == programme)
        if status is not None:
            query = query.where(enrolment.c.status == status)
        if household_ids is not None:
            query = query.where(enrolment.c.household_id.in_(list(household_ids)))
        query = query.order_by(enrolment.c.id)
        if lock:
            query = query.with_for_update(of=enrolment)
        return [enrolment_of(row) for row in self.connection.execute(query)]

    def page(
        self, *, programme: str | None, status: str | None, after: UUID | None, limit: int
    ) -> list[dict[str, Any]]:
        query = _joined()
        if programme is not None:
            query = query.where(enrolment.c.programme_code == programme)
        if status is not None:
            query = query.where(enrolment.c.status == status)
        if after is not None:
            query = query.where(enrolment.c.id > after)
        rows = self.connection.execute(query.order_by(enrolment.c.id).limit(limit)).mappings()
        return [dict(row) for row in rows]

    def row(self, enrolment_id: UUID) -> dict[str, Any] | None:
        found = self.connection.execute(_joined().where(enrolment.c.id == enrolment_id)).mappings().first()
        return dict(found) if found else None

    def live_of_households(self, household_ids: Sequence[UUID]) -> list[Enrolment]:
        query = _joined().where(
            enrolment.c.household_id.in_(list(household_ids)), enrolment.c.status != "exited"
        )
        return [enrolment_of(row) for row in self.connection.execute(query.with_for_update(of=enrolment))]

    def may_end(self) -> list[tuple[Enrolment, int]]:
        """Live enrolments that some rule may end (activated, or temporary), with their paid cycles."""
        query = _joined().where(
            enrolment.c.status != "exited",
            (enrolment.c.started_on.is_not(None)) | (temporary_enrolment.c.enrolment_id.is_not(None)),
        )
        rows = self.connection.execute(query.with_for_update(of=enrolment))
        return [(enrolment_of(row), row.paid_cycles or 0) for row in rows]

    def save(self, enrolments: Sequence[Enrolment]) -> None:
        """Write the new state of moved enrolments and their new transitions, set-based."""
        if not enrolments:
            return
        rows = [
            {
                "id": e.id,
                "household_id": e.household_id,
                "programme_code": e.programme_code,
                "status": e.status,
                "registered_at": e.registered_at,
                "started_on": e.started_on,
                "validated_by": e.validation.who if e.validation else None,
                "validated_at": e.validation.when if e.validation else None,
                "validated_where": e.validation.where if e.validation else None,
                "exit_reason": e.exit_reason,
            }
            for e in enrolments
        ]
        insert_rows(
            self.connection,
            enrolment,
            rows,
            conflict=["id"],
            update=["status", "started_on", "validated_by", "validated_at", "validated_where", "exit_reason"],
            touch="updated_at",
        )
        self.record_history(enrolments)

    def record_history(self, enrolments: Sequence[Enrolment], *, first: bool = False) -> None:
        rows: list[dict[str, Any]] = []
        for e in enrolments:
            if first:
                rows.append(
                    {
                        "enrolment_id": e.id,
                        "from_status": None,
                        "to_status": "registered",
                        "at": e.registered_at,
                        "by": "registry",
                        "reason": e.temporary.shock if e.temporary else None,
                        "validated_by": None,
                        "where": None,
                    }
                )
            for move in e.history:
                validated = move.to_status == "validated" and e.validation is not None
                rows.append(
                    {
                        "enrolment_id": e.id,
                        "from_status": move.from_status,
                        "to_status": move.to_status,
                        "at": move.at,
                        "by": move.by,
                        "reason": move.reason,
                        "validated_by": e.validation.who if validated and e.validation else None,
                        "where": e.validation.where if validated and e.validation else None,
                    }
                )
            e.history.clear()
        insert_rows(self.connection, enrolment_transition, rows)

    def history(self, enrolment_id: UUID) -> list[dict[str, Any]]:
        query = (
            select(enrolment_transition)
            .where(enrolment_transition.c.enrolment_id == enrolment_id)
            .order_by(enrolment_transition.c.id)
        )
        return [dict(row) for row in self.connection.execute(query).mappings()]

    def count_paid_cycle(
        self, cycle_id: UUID, *, programme: str, household_ids: Sequence[UUID]
    ) -> list[UUID]:
        """Count one paid cycle for the live temporary enrolments of these households (once per cycle).

        Returns the enrolments whose count went up.
        """
        counted = list(
            self.connection.execute(
                text(
                    f'INSERT INTO "{enrolment.schema}".paid_cycle (enrolment_id, cycle_id) '
                    f'SELECT e.id, :cycle FROM "{enrolment.schema}".enrolment e '
                    f'JOIN "{enrolment.schema}".temporary_enrolment t ON t.enrolment_id = e.id '
                    "WHERE e.programme_code = :programme AND e.status <> 'exited' "
                    "AND e.household_id = ANY(CAST(:households AS uuid[])) "
                    "ON CONFLICT DO NOTHING RETURNING enrolment_id"
                ),
                {"cycle": cycle_id, "programme": programme, "households": list(household_ids)},
            ).scalars()
        )
        if counted:
            self.connection.execute(
                text(
                    f'UPDATE "{enrolment.schema}".temporary_enrolment SET paid_cycles = paid_cycles + 1 '
                    "WHERE enrolment_id = ANY(CAST(:ids AS uuid[]))"
                ),
                {"ids": counted},
            )
        return counted

    def paid_cycles(self, enrolment_ids: Sequence[UUID]) -> dict[UUID, int]:
        rows = self.connection.execute(
            select(temporary_enrolment.c.enrolment_id, temporary_enrolment.c.paid_cycles).where(
                temporary_enrolment.c.enrolment_id.in_(list(enrolment_ids))
            )
        )
        return {row.enrolment_id: row.paid_cycles for row in rows}

    def overlaps(self, *, region: str | None) -> list[dict[str, Any]]:
        """Households active in two programmes or more, counted by commune and by set of programmes."""
        where = "AND h.region = :region" if region is not None else ""
        rows = self.connection.execute(
            text(
                f"""
                WITH multi AS (
                    SELECT household_id, string_agg(programme_code, '+' ORDER BY programme_code) AS programmes
                    FROM "{enrolment.schema}".enrolment WHERE status = 'active'
                    GROUP BY household_id HAVING count(DISTINCT programme_code) >= 2
                )
                SELECT h.region, h.cercle, h.commune, m.programmes, count(*) AS households
                FROM multi m JOIN "{enrolment.schema}".household h ON h.id = m.household_id
                WHERE true {where}
                GROUP BY h.region, h.cercle, h.commune, m.programmes
                ORDER BY h.region, h.cercle, h.commune, m.programmes
                """
            ),
            {"region": region} if region is not None else {},
        ).mappings()
        return [dict(row) for row in rows]
