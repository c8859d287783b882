"""The audit trail: append every service's `audit.recorded` to the hash chain, and verify the chain."""

from __future__ import annotations

from uuid import UUID

from reconciliation.db.unit_of_work import ReconciliationUnitOfWork
from reconciliation.domain.audit import ChainVerdict, chain_entry, verify_chain
from shared.events.contracts import AuditRecorded


def append_to_chain(uow: ReconciliationUnitOfWork, action: AuditRecorded, *, event_id: UUID | None) -> int:
    """Chain one action after the newest entry (the head row stays locked until commit). Returns its seq."""
    previous = uow.audit_log.lock_head()
    entry = chain_entry(
        previous,
        occurred_at=action.occurred_at,
        actor=action.actor,
        role=action.role,
        service=action.service,
        action=action.action,
        subject=action.subject,
        before=action.before,
        after=action.after,
    )
    uow.audit_log.append(entry, event_id=event_id)
    return entry.seq


def verify_audit_chain(uow: ReconciliationUnitOfWork) -> ChainVerdict:
    """Recompute every link and compare the end with the recorded head."""
    return verify_chain(uow.audit_log.entries(), head=uow.audit_log.head())
