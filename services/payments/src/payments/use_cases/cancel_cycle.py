"""Cancel a cycle before its release; nothing was sent, so nothing is owed."""

from __future__ import annotations

from uuid import UUID

from payments.db.unit_of_work import PaymentsUnitOfWork
from payments.use_cases.submit_cycle import cycle_for_decision, refuse_transition
from shared.audit import record_action
from shared.auth import Principal
from shared.events.contracts import CycleCancelled

CANCELLABLE = ["draft", "submitted", "approved"]


def cancel_cycle(uow: PaymentsUnitOfWork, *, cycle_id: UUID, reason: str, actor: Principal) -> None:
    cycle = cycle_for_decision(uow, cycle_id)
    if cycle["state"] not in CANCELLABLE:
        raise refuse_transition(cycle, "cancelled", CANCELLABLE)
    uow.cycles.update(cycle_id, state="cancelled", cancelled_by=actor.name, cancel_reason=reason)
    uow.publish(
        CycleCancelled(cycle_id=cycle_id, cancelled_by=actor.name, reason=reason), subject=str(cycle_id)
    )
    record_action(
        uow,
        actor=actor,
        action="cycle.cancel",
        subject=f"cycle/{cycle_id}",
        before={"state": cycle["state"]},
        after={"state": "cancelled", "reason": reason},
    )
