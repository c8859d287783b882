"""Change a household's facts; a new phone number opens a new period of payment details."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from enrolment.db.unit_of_work import EnrolmentUnitOfWork
from enrolment.domain.households import operator_of
from enrolment.events import facts_of
from shared.audit import record_action
from shared.auth import Principal
from shared.errors import Conflict, InvalidInput, NotFound
from shared.events.contracts import HouseholdUpdated, PaymentDetailsChanged


def change_household(
    uow: EnrolmentUnitOfWork,
    *,
    household_id: UUID,
    changes: dict[str, Any],
    effective_from: date,
    actor: Principal,
) -> dict[str, Any]:
    before = uow.households.get(household_id, for_update=True)
    if before is None:
        raise NotFound(f"no household {household_id}")
    if before["status"] == "merged":
        raise Conflict(
            f"household {household_id} was merged into {before['merged_into']}",
            details={"merged_into": str(before["merged_into"])},
        )
    values = {k: v for k, v in changes.items() if before.get(k) != v}
    if "msisdn" in values:
        values["operator"] = operator_of(values["msisdn"]) if values["msisdn"] else None
    modality = values.get("preferred_modality", before["preferred_modality"])
    if modality == "mobile_money" and not values.get("msisdn", before["msisdn"]):
        raise InvalidInput(
            "a household paid by mobile money needs a phone number", details={"field": "msisdn"}
        )
    if not values:
        return before
    uow.households.change(household_id, values)
    after = uow.households.get(household_id)
    assert after is not None
    facts = facts_of(after)
    uow.publish(HouseholdUpdated(**facts.model_dump()), subject=str(household_id))
    if "msisdn" in values:
        uow.households.record_payment_details(
            household_id,
            msisdn=after["msisdn"],
            operator=after["operator"],
            effective_from=effective_from,
            by=actor.name,
        )
        uow.publish(
            PaymentDetailsChanged(
                household_id=household_id,
                msisdn=after["msisdn"],
                operator=after["operator"],
                effective_from=effective_from,
                previous_msisdn=before["msisdn"],
            ),
            subject=str(household_id),
        )
    record_action(
        uow,
        actor=actor,
        action="household.change",
        subject=f"household/{household_id}",
        before=facts_of(before).model_dump(mode="json"),
        after=facts.model_dump(mode="json"),
    )
    return after
