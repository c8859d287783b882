"""Register one household in the registry and tell the other services."""

from __future__ import annotations

import uuid
from typing import Any

from enrolment.db.unit_of_work import EnrolmentUnitOfWork
from shared.audit import record_action
from shared.auth import Principal
from shared.errors import Conflict
from shared.events.contracts import HouseholdFacts, HouseholdRegistered


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
    event = HouseholdRegistered(
        household_id=household_id,
        **{k: stored[k] for k in HouseholdFacts.model_fields if k != "household_id"},
    )
    uow.publish(event, subject=str(household_id))
    record_action(
        uow,
        actor=actor,
        action="household.register",
        subject=f"household/{household_id}",
        after=event.model_dump(mode="json"),
    )
    return stored
