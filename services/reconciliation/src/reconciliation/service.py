"""The reconciliation service's identity: schema, migrations, and how to open its unit of work."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine

from reconciliation.db.unit_of_work import ReconciliationUnitOfWork
from shared.service import ServiceDefinition
from shared.settings import Settings


def unit_of_work_factory(engine: Engine, settings: Settings) -> Callable[[], ReconciliationUnitOfWork]:
    def open_unit_of_work() -> ReconciliationUnitOfWork:
        return ReconciliationUnitOfWork(engine, topic_prefix=settings.topic_prefix)

    return open_unit_of_work


def consumer_unit_of_work_factory(
    engine: Engine, settings: Settings
) -> Callable[[], ReconciliationUnitOfWork]:
    """The consumer's units of work mark the cycles they change; `announce_changed` announces them."""

    def open_unit_of_work() -> ReconciliationUnitOfWork:
        return ReconciliationUnitOfWork(
            engine, topic_prefix=settings.topic_prefix, announce_after=settings.reconciled_every_seconds
        )

    return open_unit_of_work


RECONCILIATION = ServiceDefinition(
    name="reconciliation",
    migrations=Path(__file__).resolve().parents[2] / "migrations",
    unit_of_work=unit_of_work_factory,
)
