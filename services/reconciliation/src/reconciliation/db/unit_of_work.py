"""The reconciliation unit of work: its repositories on one transaction, plus the outbox."""

from __future__ import annotations

from typing import Self

from sqlalchemy import Engine

from reconciliation.db.accounts import AccountRepository
from reconciliation.db.audit_log import AuditLogRepository
from reconciliation.db.cycles import CycleRepository
from reconciliation.db.discrepancies import DiscrepancyRepository
from reconciliation.db.expectations import ExpectationRepository
from reconciliation.db.payees import PayeeRepository
from reconciliation.db.statements import StatementRepository
from shared.unit_of_work import UnitOfWork


class ReconciliationUnitOfWork(UnitOfWork):
    payees: PayeeRepository
    expectations: ExpectationRepository
    statements: StatementRepository
    accounts: AccountRepository
    discrepancies: DiscrepancyRepository
    audit_log: AuditLogRepository
    cycles: CycleRepository

    def __init__(self, engine: Engine, *, topic_prefix: str) -> None:
        super().__init__(
            engine, schema="reconciliation", source="/filet/reconciliation", topic_prefix=topic_prefix
        )

    def __enter__(self) -> Self:
        super().__enter__()
        connection = self.connection
        self.payees = PayeeRepository(connection)
        self.expectations = ExpectationRepository(connection)
        self.statements = StatementRepository(connection)
        self.accounts = AccountRepository(connection)
        self.discrepancies = DiscrepancyRepository(connection)
        self.audit_log = AuditLogRepository(connection)
        self.cycles = CycleRepository(connection)
        return self
