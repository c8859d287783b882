"""The payments unit of work: its repositories on one transaction, plus the outbox."""

from __future__ import annotations

from typing import Self

from sqlalchemy import Engine

from payments.db.beneficiaries import BeneficiaryRepository
from shared.unit_of_work import UnitOfWork


class PaymentsUnitOfWork(UnitOfWork):
    beneficiaries: BeneficiaryRepository

    def __init__(self, engine: Engine, *, topic_prefix: str) -> None:
        super().__init__(engine, schema="payments", source="/filet/payments", topic_prefix=topic_prefix)

    def __enter__(self) -> Self:
        super().__enter__()
        self.beneficiaries = BeneficiaryRepository(self.connection)
        return self
