"""Enrol households in a programme, by list or by filter (area, refocusing), within its zone and capacity."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from enrolment.db.unit_of_work import EnrolmentUnitOfWork
from enrolment.domain.enrolments import Enrolment, Refocusing, TemporaryEnrolment
from enrolment.domain.households import Household
from enrolment.domain.programmes import Area, Programme
from enrolment.events import publish_enrolments
from shared.audit import record_action
from shared.auth import Principal
from shared.errors import InvalidInput


@dataclass(frozen=True)
class Enrolled:
    enrolled: list[UUID]
    already_enrolled: int


def _where(row: Any) -> Household:
    """The part of a household targeting compares (the rest is not read)."""
    compared = {
        "region": row.region,
        "cercle": row.cercle,
        "commune": row.commune,
        "pmt_score": row.pmt_score,
        "hea_category": row.hea_category,
    }
    return Household.model_construct(**compared)


def known_programme(uow: EnrolmentUnitOfWork, code: str, *, lock: bool = False) -> Programme:
    programme = uow.programmes.get(code, lock=lock)
    if programme is None:
        raise InvalidInput(
            f"no programme {code!r}: create it first (POST /v1/programmes)",
            details={"programme": code, "known": [row["code"] for row in uow.programmes.all()]},
        )
    return programme


def _by_list(uow: EnrolmentUnitOfWork, programme: Programme, household_ids: Sequence[UUID]) -> list[UUID]:
    rows = {row.id: row for row in uow.households.for_targeting(household_ids=household_ids)}
    unknown = [str(i) for i in household_ids if i not in rows]
    merged = [str(i) for i, row in rows.items() if row.status == "merged"]
    outside = [str(i) for i, row in rows.items() if not programme.covers(_where(row))]
    if unknown or merged or outside:
        raise InvalidInput(
            "some households cannot be enrolled in this programme",
            details={"unknown": unknown, "merged": merged, "outside_zone": outside},
        )
    return list(dict.fromkeys(household_ids))


def _by_filter(
    uow: EnrolmentUnitOfWork, programme: Programme, area: Area | None, refocusing: Refocusing | None
) -> list[UUID]:
    regions = [area.region] if area is not None else sorted({zone.region for zone in programme.zone})
    chosen = []
    for row in uow.households.for_targeting(regions=regions):
        household = _where(row)
        if not programme.covers(household):
            continue
        if area is not None and not area.covers(household):
            continue
        if refocusing is not None and not refocusing.selects(household):
            continue
        chosen.append(row.id)
    return chosen


def enrol_households(
    uow: EnrolmentUnitOfWork,
    *,
    programme_code: str,
    household_ids: Sequence[UUID] | None,
    area: dict[str, Any] | None,
    refocusing: Refocusing | None,
    temporary: TemporaryEnrolment | None,
    at: datetime,
    actor: Principal,
) -> Enrolled:
    """New enrolments (registered) for the households chosen; those already enrolled are left as they are."""
    programme = known_programme(uow, programme_code, lock=True)
    if household_ids is not None:
        chosen = _by_list(uow, programme, household_ids)
    else:
        try:
            where = Area(**area) if area and area.get("region") else None
        except ValueError as error:
            raise InvalidInput(f"filter: {error}") from None
        if area and not area.get("region") and (area.get("cercle") or area.get("commune")):
            raise InvalidInput("filter: a cercle or commune needs its region")
        chosen = _by_filter(uow, programme, where, refocusing)
    already = {
        e.household_id
        for e in uow.enrolments.matching(programme=programme.code, household_ids=chosen)
        if e.status != "exited"
    }
    fresh = [
        Enrolment.register(household_id, programme.code, at=at, temporary=temporary)
        for household_id in chosen
        if household_id not in already
    ]
    programme.ensure_room(enrolled=uow.programmes.enrolled(programme.code), adding=len(fresh))
    written = uow.enrolments.add_many(fresh)
    enrolled = [e for e in fresh if e.id in written]
    publish_enrolments(uow, enrolled, at=at)
    record_action(
        uow,
        actor=actor,
        action="enrolments.register",
        subject=f"programme/{programme.code}",
        before={"enrolled": len(already)},
        after={
            "enrolled": len(enrolled),
            "temporary": None
            if temporary is None
            else {
                "shock": temporary.shock,
                "ends_on": str(temporary.ends_on),
                "max_cycles": temporary.max_cycles,
            },
        },
    )
    return Enrolled([e.id for e in enrolled], len(chosen) - len(enrolled))
