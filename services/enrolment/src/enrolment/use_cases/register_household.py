"""Register one household in the registry, propose its possible duplicates, and tell the other services."""

from __future__ import annotations

import uuid
from typing import Any

from enrolment.db.unit_of_work import EnrolmentUnitOfWork
from enrolment.domain.deduplication import DuplicateIndex, PossibleDuplicate
from enrolment.domain.households import Household
from enrolment.events import facts_of
from shared.audit import record_action
from shared.auth import Principal
from shared.errors import Conflict
from shared.events.contracts import HouseholdRegistered


def index_entry(row: Any) -> Household:
    """The keys the duplicate index compares, from a stored row (fields it does not use are left out).

    A household registered without village or birth year is kept out of the fuzzy rule: its village is a
    key no other household has.
    """
    village = row.village if row.village and row.head_birth_year is not None else f"\x00{row.id}"
    keys = {
        "rsu_id": row.rsu_id,
        "nina": row.nina,
        "msisdn": row.msisdn,
        "head_name": row.head_name,
        "head_birth_year": row.head_birth_year or 0,
        "cercle": row.cercle,
        "commune": row.commune,
        "village": village,
    }
    return Household.model_construct(**keys)


class _Row:
    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


def possible_duplicates(
    uow: EnrolmentUnitOfWork, stored: dict[str, Any]
) -> list[PossibleDuplicate[uuid.UUID]]:
    """The registered households this one may duplicate, by the domain's rules, minus dismissed pairs."""
    index: DuplicateIndex[uuid.UUID] = DuplicateIndex()
    for other in uow.households.candidates_like(
        nina=stored["nina"], msisdn=stored["msisdn"], cercle=stored["cercle"], born=stored["head_birth_year"]
    ):
        if other["id"] != stored["id"]:
            index.load(other["id"], index_entry(_Row(other)))
    for first, second in uow.duplicates.dismissed_pairs():
        index.dismiss(first, second)
    return index.matches(stored["id"], index_entry(_Row(stored)))


def register_household(
    uow: EnrolmentUnitOfWork, *, facts: dict[str, Any], actor: Principal
) -> dict[str, Any]:
    """Insert the household; an RSU id already registered is a conflict naming the existing household."""
    household_id = uuid.uuid4()
    row = {**facts, "id": household_id}
    if not uow.households.add(row):
        existing = uow.households.by_rsu_id(facts["rsu_id"])
        raise Conflict(
            f"a household with RSU id {facts['rsu_id']!r} is already registered",
            details={"household_id": str(existing["id"]) if existing else None},
        )
    stored = uow.households.get(household_id)
    assert stored is not None
    if stored["msisdn"] is not None:
        uow.households.record_payment_details(
            household_id,
            msisdn=stored["msisdn"],
            operator=stored["operator"],
            effective_from=stored["created_at"].date(),
            by=actor.name,
        )
    found = possible_duplicates(uow, stored)
    uow.duplicates.propose(
        [
            {"household_id": household_id, "duplicate_of": d.of, "reason": d.reason, "score": d.score}
            for d in found
        ]
    )
    facts_out = facts_of(stored)
    uow.publish(HouseholdRegistered(**facts_out.model_dump()), subject=str(household_id))
    record_action(
        uow,
        actor=actor,
        action="household.register",
        subject=f"household/{household_id}",
        after=facts_out.model_dump(mode="json"),
    )
    stored["possible_duplicates"] = [
        {
            "candidate_id": c["id"],
            "duplicate_of": c["duplicate_of"],
            "reason": c["reason"],
            "score": c["score"],
        }
        for c in uow.duplicates.open_for(household_id)
    ]
    return stored
