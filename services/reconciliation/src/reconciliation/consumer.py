"""The reconciliation consumer: rules applied to enrolment and payments events."""

from __future__ import annotations

from reconciliation.db.unit_of_work import ReconciliationUnitOfWork
from reconciliation.service import RECONCILIATION
from shared.consumer import Handler
from shared.events import Envelope, Topic
from shared.events.contracts import HouseholdFacts, HouseholdsRegistered
from shared.logs import configure_logging
from shared.service import run_consumer
from shared.settings import Settings


def when_household_registered_add_payee(uow: ReconciliationUnitOfWork, event: Envelope) -> None:
    assert isinstance(event.data, HouseholdFacts)
    uow.payees.upsert_many([event.data])


def when_households_registered_add_payees(uow: ReconciliationUnitOfWork, event: Envelope) -> None:
    assert isinstance(event.data, HouseholdsRegistered)
    uow.payees.upsert_many(event.data.items)


HANDLERS: dict[str, Handler] = {
    "household.registered": when_household_registered_add_payee,
    "household.updated": when_household_registered_add_payee,
    "households.registered": when_households_registered_add_payees,
}
TOPICS = [Topic.HOUSEHOLDS]


def main() -> None:
    settings = Settings()
    configure_logging("reconciliation-consumer", settings.log_level)
    run_consumer(RECONCILIATION, settings, handlers=HANDLERS, topics=TOPICS)


if __name__ == "__main__":
    main()
