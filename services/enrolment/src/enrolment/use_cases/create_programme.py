"""Create a programme: its code, zone, duration, targeting method and capacity."""

from __future__ import annotations

from enrolment.db.unit_of_work import EnrolmentUnitOfWork
from enrolment.domain.programmes import Programme
from shared.audit import record_action
from shared.auth import Principal
from shared.errors import Conflict


def create_programme(uow: EnrolmentUnitOfWork, *, programme: Programme, actor: Principal) -> None:
    if not uow.programmes.add(programme, created_by=actor.name):
        raise Conflict(f"programme {programme.code} exists already", details={"code": programme.code})
    record_action(
        uow,
        actor=actor,
        action="programme.create",
        subject=f"programme/{programme.code}",
        after=programme.model_dump(mode="json"),
    )
