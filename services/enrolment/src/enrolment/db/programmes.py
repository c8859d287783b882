"""The programme repository."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.dialects.postgresql import insert

from enrolment.db.tables import enrolment, programme
from enrolment.domain.programmes import Area, Programme


def programme_of(row: Any) -> Programme:
    """The domain programme of a stored row."""
    return Programme(
        code=row.code,
        name=row.name,
        zone=tuple(Area(**area) for area in row.zone),
        duration_months=row.duration_months,
        targeting_method=row.targeting_method,
        capacity=row.capacity,
    )


class ProgrammeRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, new: Programme, *, created_by: str) -> bool:
        """Insert a programme; False when its code is taken."""
        written = self.connection.execute(
            insert(programme)
            .values(
                code=new.code,
                name=new.name,
                zone=[area.model_dump(mode="json") for area in new.zone],
                duration_months=new.duration_months,
                targeting_method=new.targeting_method,
                capacity=new.capacity,
                created_by=created_by,
            )
            .on_conflict_do_nothing(index_elements=["code"])
            .returning(programme.c.code)
        ).first()
        return written is not None

    def row(self, code: str) -> dict[str, Any] | None:
        found = self.connection.execute(select(programme).where(programme.c.code == code)).mappings().first()
        return dict(found) if found else None

    def get(self, code: str, *, lock: bool = False) -> Programme | None:
        query = select(programme).where(programme.c.code == code)
        if lock:  # serialises enrolments into one programme, so its capacity holds
            query = query.with_for_update()
        found = self.connection.execute(query).first()
        return programme_of(found) if found else None

    def all(self) -> list[dict[str, Any]]:
        return [
            dict(row)
            for row in self.connection.execute(select(programme).order_by(programme.c.code)).mappings()
        ]

    def by_code(self) -> dict[str, Programme]:
        return {row.code: programme_of(row) for row in self.connection.execute(select(programme))}

    def enrolled(self, code: str) -> int:
        """Households enrolled now (every status but exited): what the capacity counts."""
        query = (
            select(func.count())
            .select_from(enrolment)
            .where(enrolment.c.programme_code == code, enrolment.c.status != "exited")
        )
        return int(self.connection.execute(query).scalar_one())
