"""The reconciliation unit of work: its repositories on one transaction, plus the outbox."""

from __future__ import annotations

from collections.abc import Callable
from typing import Self
from uuid import UUID

from sqlalchemy import Engine

from reconciliation.db.accounts import AccountRepository
from reconciliation.db.audit_log import AuditLogRepository
from reconciliation.db.cycles import CycleRepository
from reconciliation.db.discrepancies import DiscrepancyRepository
from reconciliation.db.expectations import ExpectationRepository
from reconciliation.db.payees import PayeeRepository
from reconciliation.db.redemptions import RedemptionRepository
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
    redemptions: RedemptionRepository

    def __init__(self, engine: Engine, *, topic_prefix: str, announce_after: float | None = None) -> None:
        """`announce_after`: publish `cycle.reconciled` for a changed cycle at commit (None), or only mark it,
        for `announce_changed` to publish once its first unannounced change is this many seconds old (the
        consumer, which changes cycles in a stream of small batches)."""
        super().__init__(
            engine, schema="reconciliation", source="/filet/reconciliation", topic_prefix=topic_prefix
        )
        self.announce_after = announce_after
        self.reconciled_cycles: set[UUID] = set()
        self._before_commit: dict[str, Callable[[], None]] = {}

    def before_commit(self, name: str, work: Callable[[], None]) -> None:
        """Run `work` once just before this transaction commits, whatever happens in between; the same
        `name` registered twice runs once (e.g. one `cycle.reconciled` per cycle per transaction)."""
        self._before_commit.setdefault(name, work)

    def commit(self) -> None:
        while self._before_commit:
            _, work = self._before_commit.popitem()
            work()
        super().commit()
        self.reconciled_cycles = set()

    def rollback(self) -> None:
        self._before_commit = {}
        self.reconciled_cycles = set()
        super().rollback()

    def __enter__(self) -> Self:
        super().__enter__()
        self._before_commit = {}
        self.reconciled_cycles = set()
        connection = self.connection
        self.payees = PayeeRepository(connection)
        self.expectations = ExpectationRepository(connection)
        self.statements = StatementRepository(connection)
        self.accounts = AccountRepository(connection)
        self.discrepancies = DiscrepancyRepository(connection)
        self.audit_log = AuditLogRepository(connection)
        self.cycles = CycleRepository(connection)
        self.redemptions = RedemptionRepository(connection)
        return self
