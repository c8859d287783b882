"""Enrol households in a programme, by list or by filter (area, refocusing), within its zone and capacity."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from enrolment.db.unit_of_work import EnrolmentUnitOfWork
from enrolment.domain.enrolments import Enrolment, Refocusing, TemporaryEnrolment
from enrolment.domain.households import Household
from enrolment.domain.programmes import Area, Programme
from enrolment.events import publish_moved
from shared.audit import record_action
from shared.auth import Principal
from shared.errors import InvalidInput


@dataclass(frozen=True)
class Enrolled:
    enrolled: list[UUID]
    already_enrolled: int


Place = tuple[str, str, str]


def _living_in(place: Place) -> Household:
    """The part of a household a zone compares: where it lives (region, cercle, commune)."""
    compared: dict[str, Any] = dict(zip(("region", "cercle", "commune"), place, strict=True))
    return Household.model_construct(**compared)


def known_programme(uow: EnrolmentUnitOfWork, code: str, *, lock: bool = False) -> Programme:
    programme = uow.programmes.get(code, lock=lock)
    if programme is None:
        raise InvalidInput(
            f"no programme {code!r}: create it first (POST /v1/programmes)",
            details={"programme": code, "known": [row["code"] for row in uow.programmes.all()]},
        )
    return programme


def _by_list(uow: EnrolmentUnitOfWork, programme: Programme, household_ids: Sequence[UUID]) -> None:
    """InvalidInput naming the households that are unknown, merged, or outside the programme's zone."""
    rows = uow.households.for_targeting(household_ids=household_ids)
    known = {row.id for row in rows}
    covered = set(_covered(programme, None, {(row.region, row.cercle, row.commune) for row in rows}))
    unknown = [str(i) for i in household_ids if i not in known]
    merged = [str(row.id) for row in rows if row.status == "merged"]
    outside = [str(row.id) for row in rows if (row.region, row.cercle, row.commune) not in covered]
    if unknown or merged or outside:
        raise InvalidInput(
            "some households cannot be enrolled in this programme",
            details={"unknown": unknown, "merged": merged, "outside_zone": outside},
        )


def _covered(programme: Programme, area: Area | None, places: Iterable[Place]) -> list[Place]:
    """The places in the programme's zone, and in `area` when given: the domain decides once per place
    (there are hundreds) rather than once per household (there are hundreds of thousands)."""
    return [
        place
        for place in places
        if programme.covers(household := _living_in(place)) and (area is None or area.covers(household))
    ]


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
    """New enrolments (registered) for the households chosen; those already enrolled are left as they are.

    Set-based: the zone and the area are decided per place (region, cercle, commune), the refocusing and the
    writes (enrolments, temporary enrolments, first history rows) are one SQL statement.
    """
    programme = known_programme(uow, programme_code, lock=True)
    registered_at = Enrolment.register(uuid.UUID(int=0), programme.code, at=at).registered_at  # UTC or 422
    enrolled_before = uow.programmes.enrolled(programme.code)
    if household_ids is not None:
        _by_list(uow, programme, household_ids)
        chosen, written = uow.enrolments.enrol(
            programme=programme.code, at=registered_at, temporary=temporary, household_ids=household_ids
        )
    else:
        try:
            where = Area(**area) if area and area.get("region") else None
        except ValueError as error:
            raise InvalidInput(f"filter: {error}") from None
        if area and not area.get("region") and (area.get("cercle") or area.get("commune")):
            raise InvalidInput("filter: a cercle or commune needs its region")
        regions = [where.region] if where is not None else sorted({zone.region for zone in programme.zone})
        places = _covered(programme, where, uow.households.places_of_registered(regions=regions))
        chosen, written = uow.enrolments.enrol(
            programme=programme.code,
            at=registered_at,
            temporary=temporary,
            places=places,
            max_pmt_score=refocusing.max_pmt_score if refocusing else None,
            hea_categories=sorted(refocusing.hea_categories)
            if refocusing and refocusing.hea_categories
            else None,
        )
    # The statement wrote them already: past the capacity, the Conflict rolls the whole request back.
    programme.ensure_room(enrolled=enrolled_before, adding=len(written))
    publish_moved(
        uow,
        [
            _Written(enrolment_id, household_id, programme.code, temporary)
            for enrolment_id, household_id in written
        ],
        status="registered",
        at=at,
    )
    already = chosen - len(written)
    record_action(
        uow,
        actor=actor,
        action="enrolments.register",
        subject=f"programme/{programme.code}",
        before={"enrolled": already},
        after={
            "enrolled": len(written),
            "temporary": None
            if temporary is None
            else {
                "shock": temporary.shock,
                "ends_on": str(temporary.ends_on),
                "max_cycles": temporary.max_cycles,
            },
        },
    )
    return Enrolled([enrolment_id for enrolment_id, _ in written], already)


@dataclass(frozen=True)
class _Written:
    """A new enrolment as `publish_moved` reads it."""

    id: UUID
    household_id: UUID
    programme_code: str
    temporary: TemporaryEnrolment | None

    @property
    def shock(self) -> str | None:
        return self.temporary.shock if self.temporary else None

    @property
    def ends_on(self) -> date | None:
        return self.temporary.ends_on if self.temporary else None

    @property
    def max_cycles(self) -> int | None:
        return self.temporary.max_cycles if self.temporary else None
