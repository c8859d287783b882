"""The payments unit of work: its repositories on one transaction, plus the outbox."""

from __future__ import annotations

from typing import Self

from sqlalchemy import Engine

from payments.db.beneficiaries import BeneficiaryRepository
from payments.db.bulk_files import BulkFileRepository
from payments.db.callbacks import CallbackRepository
from payments.db.cycles import CycleRepository
from payments.db.memberships import MembershipRepository
from payments.db.payments import PaymentRepository
from payments.db.schemes import SchemeRepository
from payments.db.vouchers import VoucherRepository
from shared.unit_of_work import UnitOfWork


class PaymentsUnitOfWork(UnitOfWork):
    beneficiaries: BeneficiaryRepository
    memberships: MembershipRepository
    schemes: SchemeRepository
    cycles: CycleRepository
    payments: PaymentRepository
    callbacks: CallbackRepository
    vouchers: VoucherRepository

    def __init__(self, engine: Engine, *, topic_prefix: str) -> None:
        super().__init__(engine, schema="payments", source="/filet/payments", topic_prefix=topic_prefix)

    def __enter__(self) -> Self:
        super().__enter__()
        connection = self.connection
        self.beneficiaries = BeneficiaryRepository(connection)
        self.memberships = MembershipRepository(connection)
        self.schemes = SchemeRepository(connection)
        self.cycles = CycleRepository(connection)
        self.payments = PaymentRepository(connection)
        self.callbacks = CallbackRepository(connection)
        self.vouchers = VoucherRepository(connection)
        self.bulk_files = BulkFileRepository(connection)
        return self
