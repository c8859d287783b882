"""Maker: submit a draft cycle for approval."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from payments.db.unit_of_work import PaymentsUnitOfWork
from shared.audit import record_action
from shared.auth import Principal
from shared.errors import Conflict, NotFound


def cycle_for_decision(uow: PaymentsUnitOfWork, cycle_id: UUID) -> dict[str, Any]:
    cycle = uow.cycles.get(cycle_id, lock=True)
    if cycle is None:
        raise NotFound(f"no cycle {cycle_id}")
    return cycle


def refuse_transition(cycle: dict[str, Any], action: str, allowed_from: list[str]) -> Conflict:
    return Conflict(
        f"a {cycle['state']} cycle cannot be {action}",
        details={"state": cycle["state"], "allowed_from": allowed_from},
    )


def submit_cycle(uow: PaymentsUnitOfWork, *, cycle_id: UUID, actor: Principal) -> None:
    cycle = cycle_for_decision(uow, cycle_id)
    if cycle["state"] != "draft":
        raise refuse_transition(cycle, "submitted", ["draft"])
    uow.cycles.update(cycle_id, state="submitted", submitted_by=actor.name)
    record_action(
        uow,
        actor=actor,
        action="cycle.submit",
        subject=f"cycle/{cycle_id}",
        before={"state": "draft"},
        after={"state": "submitted"},
    )
