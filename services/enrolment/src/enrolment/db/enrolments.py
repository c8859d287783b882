"""The enrolment repository: enrolments as domain objects, their transition history, paid cycles."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, Select, select, text

from enrolment.db.tables import among, enrolment, enrolment_transition, temporary_enrolment
from enrolment.domain.enrolments import CommunityValidation, Enrolment, MoveForMany, TemporaryEnrolment
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


@dataclass
class MovedMany:
    """What a set-based move did: the refused (id, status), how many moved from each source status, and the
    items of the batch events to publish (programme code, JSON array of `EnrolmentItem`)."""

    refused: list[tuple[UUID, str]] = field(default_factory=list)
    moved: dict[str, int] = field(default_factory=dict)
    batches: list[tuple[str, str]] = field(default_factory=list)


class EnrolmentRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def enrol(
        self,
        *,
        programme: str,
        at: datetime,
        temporary: TemporaryEnrolment | None,
        household_ids: Sequence[UUID] | None = None,
        places: Sequence[tuple[str, str, str]] | None = None,
        max_pmt_score: int | None = None,
        hea_categories: Sequence[str] | None = None,
    ) -> tuple[int, list[tuple[UUID, UUID]]]:
        """New registered enrolments, set-based, for the households chosen: `household_ids` (in that order), or
        the registered households living in `places` (region, cercle, commune), optionally refocused by PMT
        score or HEA categories (in household id order). Households already enrolled (not exited) are skipped:
        the live-enrolment unique index decides, so concurrent requests never enrol a household twice.

        Writes the first history row (and the temporary enrolment) of each in the same statement. Returns how
        many households were chosen and the (enrolment id, household id) pairs written, in the chosen order.
        """
        s = enrolment.schema
        params: dict[str, Any] = {
            "programme": programme,
            "at": at,
            "shock": temporary.shock if temporary else None,
            "ends_on": temporary.ends_on if temporary else None,
            "max_cycles": temporary.max_cycles if temporary else None,
        }
        if household_ids is not None:
            chosen = "SELECT DISTINCT u.id AS household_id FROM unnest(CAST(:households AS uuid[])) AS u(id)"
            params["households"] = list(household_ids)
        else:
            assert places is not None
            chosen = (
                f'SELECT h.id AS household_id FROM "{s}".household h '
                "JOIN unnest(CAST(:regions AS text[]), CAST(:cercles AS text[]), CAST(:communes AS text[])) "
                "AS p(region, cercle, commune) "
                "ON h.region = p.region AND h.cercle = p.cercle AND h.commune = p.commune "
                "WHERE h.status = 'registered'"
            )
            params |= {
                "regions": [p[0] for p in places],
                "cercles": [p[1] for p in places],
                "communes": [p[2] for p in places],
            }
            if max_pmt_score is not None:
                chosen += " AND h.pmt_score <= :max_pmt_score"
                params["max_pmt_score"] = max_pmt_score
            if hea_categories is not None:
                chosen += " AND h.hea_category = ANY(CAST(:hea AS text[]))"
                params["hea"] = list(hea_categories)
        rows = self.connection.execute(
            text(
                f"""
                WITH chosen AS MATERIALIZED ({chosen}),
                fresh AS (
                    INSERT INTO "{s}".enrolment (id, household_id, programme_code, status, registered_at)
                    SELECT gen_random_uuid(), household_id, :programme, 'registered', :at
                    FROM chosen ORDER BY household_id
                    ON CONFLICT DO NOTHING RETURNING id, household_id
                ),
                temporary AS (
                    INSERT INTO "{s}".temporary_enrolment (enrolment_id, shock, ends_on, max_cycles, paid_cycles)
                    SELECT id, :shock, :ends_on, :max_cycles, 0 FROM fresh WHERE CAST(:shock AS text) IS NOT NULL
                ),
                history AS (
                    INSERT INTO "{s}".enrolment_transition (enrolment_id, from_status, to_status, at, by, reason)
                    SELECT id, NULL, 'registered', :at, 'registry', :shock FROM fresh
                )
                SELECT (SELECT count(*) FROM chosen) AS chosen, f.id, f.household_id
                FROM (VALUES (1)) AS one (x) LEFT JOIN fresh f ON true
                """
            ),
            params,
        ).all()
        written = [(row.id, row.household_id) for row in rows if row.id is not None]
        if household_ids is not None:
            position = {household_id: n for n, household_id in reversed(list(enumerate(household_ids)))}
            written.sort(key=lambda pair: position[pair[1]])
        else:
            written.sort(key=lambda pair: pair[1])
        return int(rows[0].chosen), written

    def get(self, enrolment_id: UUID, *, lock: bool = False) -> Enrolment | None:
        query = _joined().where(enrolment.c.id == enrolment_id)
        if lock:
            query = query.with_for_update(of=enrolment)
        row = self.connection.execute(query).first()
        return enrolment_of(row) if row else None

    def many(self, enrolment_ids: Iterable[UUID], *, lock: bool = False) -> list[Enrolment]:
        query = _joined().where(among(enrolment.c.id, enrolment_ids)).order_by(enrolment.c.id)
        if lock:
            query = query.with_for_update(of=enrolment)
        return [enrolment_of(row) for row in self.connection.execute(query)]

    def move_many(
        self,
        change: MoveForMany,
        *,
        enrolment_ids: Sequence[UUID] | None = None,
        programme: str | None = None,
        status: str | None = None,
        region: str | None = None,
        cercle: str | None = None,
        commune: str | None = None,
        effective_at: datetime,
        batch: int,
    ) -> MovedMany:
        """Apply `change`, set-based, to the enrolments chosen by id or by selection (programme, status, where
        the household lives). Those in a status outside its `sources` are locked and listed first (refused);
        then one statement per source status moves the others, writes their history rows and returns them as
        the items of their batch events (JSON arrays of ≤ `batch` `EnrolmentItem`s per programme, in id
        order, `effective_at` as given): PostgreSQL builds them, so no row goes through Python one by one.
        """
        s = enrolment.schema
        where: list[str] = []
        params: dict[str, Any] = {}
        if enrolment_ids is not None:
            where.append("e.id = ANY(CAST(:ids AS uuid[]))")
            params["ids"] = list(enrolment_ids)
        if programme is not None:
            where.append("e.programme_code = :programme")
            params["programme"] = programme
        if status is not None:
            where.append("e.status = :status")
            params["status"] = status
        if region is not None or cercle is not None or commune is not None:
            lives: list[str] = []
            if region is not None:
                lives.append("h.region = :region")
                params["region"] = region
            if cercle is not None:
                lives.append("h.cercle = :cercle")
                params["cercle"] = cercle
            if commune is not None:
                lives.append("lower(h.commune) = :commune")
                params["commune"] = commune.lower()
            where.append(
                f'e.household_id IN (SELECT h.id FROM "{s}".household h WHERE {" AND ".join(lives)})'
            )
        chosen = " AND ".join(where) or "true"
        validation = change.validation
        params |= {
            "sources": list(change.sources),
            "to": change.to_status,
            "at": change.at,
            "by": change.by,
            "reason": change.reason,
            "started_on": change.started_on,
            "validated_by": validation.who if validation else None,
            "validated_at": validation.when if validation else None,
            "validated_where": validation.where if validation else None,
            "exit_reason": change.exit_reason,
        }
        result = MovedMany(
            refused=[
                (row.id, row.status)
                for row in self.connection.execute(
                    text(
                        f'SELECT e.id, e.status FROM "{s}".enrolment e WHERE {chosen} '
                        "AND NOT e.status = ANY(CAST(:sources AS text[])) ORDER BY e.id FOR UPDATE"
                    ),
                    params,
                )
            ]
        )
        params |= {
            "effective_at": effective_at.isoformat(),
            "item_reason": change.exit_reason if change.to_status == "exited" else None,
            "batch": batch,
        }
        for source in change.sources:
            if status is not None and source != status:
                continue
            batches = self.connection.execute(
                text(
                    f"""
                    WITH moved AS (
                        UPDATE "{s}".enrolment e SET
                            status = :to,
                            started_on = COALESCE(e.started_on, CAST(:started_on AS date)),
                            validated_by = COALESCE(CAST(:validated_by AS text), e.validated_by),
                            validated_at = COALESCE(CAST(:validated_at AS timestamptz), e.validated_at),
                            validated_where = COALESCE(CAST(:validated_where AS text), e.validated_where),
                            exit_reason = COALESCE(CAST(:exit_reason AS text), e.exit_reason),
                            updated_at = now()
                        WHERE {chosen} AND e.status = :source
                        RETURNING e.id, e.household_id, e.programme_code
                    ),
                    history AS (
                        INSERT INTO "{s}".enrolment_transition
                            (enrolment_id, from_status, to_status, at, by, reason, validated_by, "where")
                        SELECT id, :source, :to, :at, :by, :reason,
                               CAST(:validated_by AS text), CAST(:validated_where AS text)
                        FROM moved
                    ),
                    items AS (
                        SELECT m.programme_code, m.id, json_build_object(
                            'enrolment_id', m.id, 'household_id', m.household_id, 'status', CAST(:to AS text),
                            'effective_at', CAST(:effective_at AS text), 'reason', CAST(:item_reason AS text),
                            'shock', t.shock, 'ends_on', t.ends_on, 'max_cycles', t.max_cycles
                        ) AS item,
                        (row_number() OVER (PARTITION BY m.programme_code ORDER BY m.id) - 1) / :batch AS chunk
                        FROM moved m LEFT JOIN "{s}".temporary_enrolment t ON t.enrolment_id = m.id
                    )
                    SELECT programme_code, count(*) AS moved, CAST(json_agg(item ORDER BY id) AS text) AS items
                    FROM items GROUP BY programme_code, chunk ORDER BY programme_code, chunk
                    """
                ),
                params | {"source": source},
            ).all()
            result.moved[source] = sum(row.moved for row in batches)
            result.batches += [(row.programme_code, row.items) for row in batches]
        return result

    def unknown(self, enrolment_ids: Sequence[UUID]) -> list[UUID]:
        """Those of these ids that are no enrolment."""
        return list(
            self.connection.execute(
                text(
                    "SELECT u.id FROM unnest(CAST(:ids AS uuid[])) AS u(id) WHERE NOT EXISTS "
                    f'(SELECT 1 FROM "{enrolment.schema}".enrolment e WHERE e.id = u.id)'
                ),
                {"ids": list(enrolment_ids)},
            ).scalars()
        )

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
            among(enrolment.c.household_id, household_ids), enrolment.c.status != "exited"
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
                among(temporary_enrolment.c.enrolment_id, enrolment_ids)
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
