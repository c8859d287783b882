"""Every write records who did what through an `audit.recorded` event; reconciliation chains them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.auth import Principal
from shared.events.contracts import AuditRecorded
from shared.unit_of_work import UnitOfWork


def record_action(
    uow: UnitOfWork,
    *,
    actor: Principal,
    action: str,
    subject: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Queue the audit event in the same transaction as the action it describes."""
    uow.publish(
        AuditRecorded(
            occurred_at=datetime.now(UTC),
            service=uow.schema,
            actor=actor.name,
            role=actor.role,
            action=action,
            subject=subject,
            before=before,
            after=after,
        ),
        subject=subject,
    )
