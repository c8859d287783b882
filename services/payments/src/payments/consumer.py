"""The payments consumer: rules applied to enrolment events (`python -m payments.consumer`)."""

from __future__ import annotations

from payments.db.unit_of_work import PaymentsUnitOfWork
from payments.service import PAYMENTS
from shared.consumer import Handler
from shared.events import Envelope, Topic
from shared.events.contracts import HouseholdFacts, HouseholdsRegistered
from shared.logs import configure_logging
from shared.service import run_consumer
from shared.settings import Settings


def when_household_registered_add_beneficiary(uow: PaymentsUnitOfWork, event: Envelope) -> None:
    assert isinstance(event.data, HouseholdFacts)
    uow.beneficiaries.upsert_many([event.data])


def when_households_registered_add_beneficiaries(uow: PaymentsUnitOfWork, event: Envelope) -> None:
    assert isinstance(event.data, HouseholdsRegistered)
    uow.beneficiaries.upsert_many(event.data.items)


HANDLERS: dict[str, Handler] = {
    "household.registered": when_household_registered_add_beneficiary,
    "household.updated": when_household_registered_add_beneficiary,
    "households.registered": when_households_registered_add_beneficiaries,
}
TOPICS = [Topic.HOUSEHOLDS]


def main() -> None:
    settings = Settings()
    configure_logging("payments-consumer", settings.log_level)
    run_consumer(PAYMENTS, settings, handlers=HANDLERS, topics=TOPICS)


if __name__ == "__main__":
    main()
