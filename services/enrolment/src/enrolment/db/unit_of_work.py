"""The enrolment unit of work: its repositories on one transaction, plus the outbox."""

from __future__ import annotations

from typing import Self

from sqlalchemy import Engine

from enrolment.db.duplicates import DuplicateRepository
from enrolment.db.enrolments import EnrolmentRepository
from enrolment.db.households import HouseholdRepository
from enrolment.db.imports import ImportRepository
from enrolment.db.programmes import ProgrammeRepository
from shared.unit_of_work import UnitOfWork


class EnrolmentUnitOfWork(UnitOfWork):
    households: HouseholdRepository
    programmes: ProgrammeRepository
    enrolments: EnrolmentRepository
    imports: ImportRepository
    duplicates: DuplicateRepository

    def __init__(self, engine: Engine, *, topic_prefix: str) -> None:
        super().__init__(engine, schema="enrolment", source="/filet/enrolment", topic_prefix=topic_prefix)

    def __enter__(self) -> Self:
        super().__enter__()
        self.households = HouseholdRepository(self.connection)
        self.programmes = ProgrammeRepository(self.connection)
        self.enrolments = EnrolmentRepository(self.connection)
        self.imports = ImportRepository(self.connection)
        self.duplicates = DuplicateRepository(self.connection)
        return self
