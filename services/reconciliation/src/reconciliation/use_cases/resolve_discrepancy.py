"""An operator resolves a discrepancy with a reason; auditors see who and when."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from reconciliation.db.unit_of_work import ReconciliationUnitOfWork
from shared.audit import record_action
from shared.auth import Principal
from shared.errors import Conflict, InvalidInput, NotFound
from shared.events.contracts import DiscrepancyResolved


def resolve_discrepancy(
    uow: ReconciliationUnitOfWork, *, discrepancy_id: UUID, reason: str, resolved_by: Principal
) -> dict[str, Any]:
    reason = reason.strip()
    if not reason:
        raise InvalidInput("a resolution needs a reason", details=[{"field": "reason", "reason": "empty"}])
    current = uow.discrepancies.lock(discrepancy_id)
    if current is None:
        raise NotFound(f"no discrepancy {discrepancy_id}")
    if current["status"] != "open":
        raise Conflict(
            f"discrepancy {discrepancy_id} is already resolved",
            details={"status": current["status"], "allowed_transitions": {"open": ["resolved"]}},
        )
    resolved = uow.discrepancies.resolve(discrepancy_id, resolution=reason, resolved_by=resolved_by.name)
    uow.publish(
        DiscrepancyResolved(discrepancy_id=discrepancy_id, resolved_by=resolved_by.name, resolution=reason),
        subject=str(discrepancy_id),
    )
    record_action(
        uow,
        actor=resolved_by,
        action="discrepancy.resolve",
        subject=f"discrepancy/{discrepancy_id}",
        before={"status": "open", "category": current["category"]},
        after={"status": "resolved", "resolution": reason},
    )
    return resolved
