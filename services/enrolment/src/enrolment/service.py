"""The enrolment service's identity: schema, migrations, and how to open its unit of work."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine

from enrolment.db.unit_of_work import EnrolmentUnitOfWork
from shared.service import ServiceDefinition
from shared.settings import Settings


def unit_of_work_factory(engine: Engine, settings: Settings) -> Callable[[], EnrolmentUnitOfWork]:
    def open_unit_of_work() -> EnrolmentUnitOfWork:
        return EnrolmentUnitOfWork(engine, topic_prefix=settings.topic_prefix)

    return open_unit_of_work


ENROLMENT = ServiceDefinition(
    name="enrolment",
    migrations=Path(__file__).resolve().parents[2] / "migrations",
    unit_of_work=unit_of_work_factory,
)
