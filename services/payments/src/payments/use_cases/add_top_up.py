"""Vertical expansion: raise the entitlements of one area in a cycle not yet submitted."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from payments.db.unit_of_work import PaymentsUnitOfWork
from payments.domain.schemes import TopUp
from shared.audit import record_action
from shared.auth import Principal
from shared.errors import Conflict, NotFound


def add_top_up(uow: PaymentsUnitOfWork, *, cycle_id: UUID, top_up: TopUp, actor: Principal) -> dict[str, Any]:
    cycle = uow.cycles.get(cycle_id, lock=True)
    if cycle is None:
        raise NotFound(f"no cycle {cycle_id}")
    if cycle["state"] != "draft":
        raise Conflict(
            f"a top-up changes a draft cycle only; this one is {cycle['state']}",
            details={"state": cycle["state"], "allowed_states": ["draft"]},
        )
    top_up_id = uuid4()
    area = {
        "regions": sorted(top_up.area.regions),
        "cercles": sorted(top_up.area.cercles),
        "communes": sorted(top_up.area.communes),
    }
    households, amount = uow.cycles.add_top_up(
        top_up_id=top_up_id,
        cycle_id=cycle_id,
        area=area,
        fixed_amount=top_up.fixed_amount,
        multiplier_percent=top_up.multiplier_percent,
        created_by=actor.name,
    )
    result = {
        "id": str(top_up_id),
        "area": area,
        "fixed_amount": top_up.fixed_amount,
        "multiplier_percent": top_up.multiplier_percent,
        "households": households,
        "amount": amount,
    }
    record_action(uow, actor=actor, action="cycle.top_up", subject=f"cycle/{cycle_id}", after=result)
    return result
