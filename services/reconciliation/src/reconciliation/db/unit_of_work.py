"""The reconciliation unit of work: its repositories on one transaction, plus the outbox."""

from __future__ import annotations

from typing import Self

from sqlalchemy import Engine

from reconciliation.db.payees import PayeeRepository
from shared.unit_of_work import UnitOfWork


class ReconciliationUnitOfWork(UnitOfWork):
    payees: PayeeRepository

    def __init__(self, engine: Engine, *, topic_prefix: str) -> None:
        super().__init__(
            engine, schema="reconciliation", source="/filet/reconciliation", topic_prefix=topic_prefix
        )

    def __enter__(self) -> Self:
        super().__enter__()
        self.payees = PayeeRepository(self.connection)
        return self
