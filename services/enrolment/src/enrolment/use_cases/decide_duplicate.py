"""A reviewer decides a possible duplicate: confirm (merge one household into the other) or dismiss."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from enrolment.db.unit_of_work import EnrolmentUnitOfWork
from enrolment.events import publish_enrolments
from shared.audit import record_action
from shared.auth import Principal
from shared.errors import Conflict, InvalidInput, NotFound
from shared.events.contracts import DuplicateConfirmed


def decide_duplicate(
    uow: EnrolmentUnitOfWork,
    *,
    candidate_id: int,
    decision: str,
    keep: UUID | None,
    at: datetime,
    actor: Principal,
) -> dict[str, Any]:
    candidate = uow.duplicates.get(candidate_id, lock=True)
    if candidate is None:
        raise NotFound(f"no possible duplicate {candidate_id}")
    if candidate["status"] != "open":
        raise Conflict(
            f"possible duplicate {candidate_id} was already {candidate['status']}",
            details={"status": candidate["status"], "decided_by": candidate["decided_by"]},
        )
    before = {"status": "open"}
    if decision == "dismiss":
        uow.duplicates.decide(candidate_id, status="dismissed", kept_id=None, by=actor.name)
    else:
        pair = (candidate["duplicate_of"], candidate["household_id"])
        kept = keep or pair[0]  # the household registered first, by default
        if kept not in pair:
            raise InvalidInput(
                "keep must be one of the two households", details={"households": [str(p) for p in pair]}
            )
        duplicate = pair[1] if kept == pair[0] else pair[0]
        for household_id in pair:
            row = uow.households.get(household_id, for_update=True)
            if row is None or row["status"] == "merged":
                raise Conflict(
                    f"household {household_id} was merged already",
                    details={"merged_into": str(row["merged_into"]) if row else None},
                )
        uow.households.merge(duplicate, into=kept)
        uow.duplicates.decide(candidate_id, status="confirmed", kept_id=kept, by=actor.name)
        uow.duplicates.close_open_of(duplicate, by=actor.name)
        live = uow.enrolments.live_of_households([duplicate])
        for enrolment in live:
            enrolment.exit(at=at, by=actor.name, reason=f"duplicate of household {kept}")
        uow.enrolments.save(live)
        publish_enrolments(uow, live, at=at)
        uow.publish(
            DuplicateConfirmed(kept_id=kept, duplicate_id=duplicate, decided_by=actor.name),
            subject=str(duplicate),
        )
    decided = uow.duplicates.get(candidate_id)
    assert decided is not None
    record_action(
        uow,
        actor=actor,
        action=f"duplicate.{decision}",
        subject=f"duplicate/{candidate_id}",
        before=before,
        after={
            "status": decided["status"],
            "kept_id": str(decided["kept_id"]) if decided["kept_id"] else None,
        },
    )
    return decided
