"""The payments consumer: rules applied to enrolment's household and enrolment events (`python -m payments.consumer`)."""

from __future__ import annotations

from payments.db.unit_of_work import PaymentsUnitOfWork
from payments.service import PAYMENTS
from shared.consumer import Handler
from shared.errors import DomainError
from shared.events import Envelope, Topic
from shared.events.contracts import (
    DuplicateConfirmed,
    EnrolmentsChanged,
    HouseholdFacts,
    HouseholdsRegistered,
    PaymentDetailsChanged,
)
from shared.runtime import start_process
from shared.service import run_consumer
from shared.settings import Settings


def when_household_registered_add_beneficiary(uow: PaymentsUnitOfWork, event: Envelope) -> None:
    assert isinstance(event.data, HouseholdFacts)
    uow.beneficiaries.upsert_many([event.data])


def when_households_registered_add_beneficiaries(uow: PaymentsUnitOfWork, event: Envelope) -> None:
    assert isinstance(event.data, HouseholdsRegistered)
    uow.beneficiaries.upsert_many(event.data.items)


def when_enrolments_changed_record_memberships(uow: PaymentsUnitOfWork, event: Envelope) -> None:
    """Activated, suspended, exited or otherwise changed: the membership follows (a newer fact wins)."""
    assert isinstance(event.data, EnrolmentsChanged)
    uow.memberships.record(event.data.programme_code, event.data.items, recorded_at=event.time)


def when_payment_details_changed_update_payee(uow: PaymentsUnitOfWork, event: Envelope) -> None:
    assert isinstance(event.data, PaymentDetailsChanged)
    if not uow.memberships.change_payment_details(
        event.data.household_id, msisdn=event.data.msisdn, operator=event.data.operator
    ):
        raise DomainError(f"payment details of household {event.data.household_id}, unknown here (yet)")


def when_duplicate_confirmed_never_pay_the_duplicate(uow: PaymentsUnitOfWork, event: Envelope) -> None:
    assert isinstance(event.data, DuplicateConfirmed)
    if not uow.memberships.merge_duplicate(duplicate_id=event.data.duplicate_id, kept_id=event.data.kept_id):
        raise DomainError(f"duplicate household {event.data.duplicate_id} is unknown here (yet)")


HANDLERS: dict[str, Handler] = {
    "household.registered": when_household_registered_add_beneficiary,
    "household.updated": when_household_registered_add_beneficiary,
    "households.registered": when_households_registered_add_beneficiaries,
    "household.payment_details_changed": when_payment_details_changed_update_payee,
    "household.duplicate_confirmed": when_duplicate_confirmed_never_pay_the_duplicate,
    "enrolments.activated": when_enrolments_changed_record_memberships,
    "enrolments.suspended": when_enrolments_changed_record_memberships,
    "enrolments.exited": when_enrolments_changed_record_memberships,
    "enrolments.changed": when_enrolments_changed_record_memberships,
}
TOPICS = [Topic.HOUSEHOLDS, Topic.ENROLMENTS]


def main() -> None:
    settings = Settings()
    start_process("payments-consumer", settings.log_level)
    run_consumer(PAYMENTS, settings, handlers=HANDLERS, topics=TOPICS)


if __name__ == "__main__":
    main()
