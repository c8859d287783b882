"""Checker: approve a submitted cycle — never by who created or submitted it."""

from __future__ import annotations

from uuid import UUID

from payments.db.unit_of_work import PaymentsUnitOfWork
from payments.use_cases.submit_cycle import cycle_for_decision, refuse_transition
from shared.audit import record_action
from shared.auth import Principal
from shared.errors import Forbidden
from shared.events.contracts import CycleApproved


def approve_cycle(uow: PaymentsUnitOfWork, *, cycle_id: UUID, actor: Principal) -> None:
    cycle = cycle_for_decision(uow, cycle_id)
    if cycle["state"] != "submitted":
        raise refuse_transition(cycle, "approved", ["submitted"])
    if actor.name in {cycle["created_by"], cycle["submitted_by"]}:
        role = "created" if actor.name == cycle["created_by"] else "submitted"
        raise Forbidden(
            f"maker-checker: {actor.name} {role} this cycle and may not approve it; another approver must",
            details={"created_by": cycle["created_by"], "submitted_by": cycle["submitted_by"]},
        )
    uow.cycles.update(cycle_id, state="approved", approved_by=actor.name)
    uow.publish(CycleApproved(cycle_id=cycle_id, approved_by=actor.name), subject=str(cycle_id))
    record_action(
        uow,
        actor=actor,
        action="cycle.approve",
        subject=f"cycle/{cycle_id}",
        before={"state": "submitted"},
        after={"state": "approved"},
    )
