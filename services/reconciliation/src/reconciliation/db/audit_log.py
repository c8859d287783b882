"""The audit log: the hash-chained trail of every action of every service, and its head."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, func, select
from sqlalchemy.dialects.postgresql import insert

from reconciliation.db.tables import audit_head, audit_log
from reconciliation.domain.audit import GENESIS, AuditEntry

_ENTRY = (
    audit_log.c.seq,
    audit_log.c.occurred_at,
    audit_log.c.actor,
    audit_log.c.role,
    audit_log.c.service,
    audit_log.c.action,
    audit_log.c.subject,
    audit_log.c.before,
    audit_log.c.after,
    audit_log.c.prev_hash,
    audit_log.c.hash,
)


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(*row)


class AuditLogRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def lock_head(self) -> AuditEntry | None:
        """The newest entry, with the chain's head row locked until commit: appends are serialised."""
        self.connection.execute(
            insert(audit_head).values(id=True, seq=0, hash=GENESIS).on_conflict_do_nothing()
        )
        head = self.connection.execute(select(audit_head).with_for_update()).one()
        if head.seq == 0:
            return None
        row = self.connection.execute(select(*_ENTRY).where(audit_log.c.seq == head.seq)).first()
        if row is None:
            raise RuntimeError(
                f"the audit head names seq {head.seq}, which is not in the log: run the verification"
            )
        return _entry(row)

    def append(self, entry: AuditEntry, *, event_id: UUID | None) -> None:
        self.connection.execute(
            audit_log.insert().values(
                seq=entry.seq,
                event_id=event_id,
                occurred_at=entry.occurred_at,
                actor=entry.actor,
                role=entry.role,
                service=entry.service,
                action=entry.action,
                subject=entry.subject,
                before=entry.before,
                after=entry.after,
                prev_hash=entry.prev_hash,
                hash=entry.hash,
            )
        )
        self.connection.execute(audit_head.update().values(seq=entry.seq, hash=entry.hash))

    def head(self) -> tuple[int, str] | None:
        row = self.connection.execute(select(audit_head.c.seq, audit_head.c.hash)).first()
        return (row.seq, row.hash) if row else None

    def entries(self, batch: int = 5000) -> Iterator[AuditEntry]:
        """Every entry in seq order, read in batches (the chain may be long)."""
        after = -1
        while True:
            rows = self.connection.execute(
                select(*_ENTRY).where(audit_log.c.seq > after).order_by(audit_log.c.seq).limit(batch)
            ).all()
            for row in rows:
                yield _entry(row)
            if len(rows) < batch:
                return
            after = rows[-1].seq

    def page(self, *, after: int, limit: int) -> list[dict[str, Any]]:
        rows = self.connection.execute(
            select(audit_log).where(audit_log.c.seq > after).order_by(audit_log.c.seq).limit(limit)
        ).mappings()
        return [dict(row) for row in rows]

    def count(self) -> int:
        return int(self.connection.execute(select(func.count()).select_from(audit_log)).scalar_one())
