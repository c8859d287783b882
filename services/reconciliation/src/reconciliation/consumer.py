"""The reconciliation consumer: rules applied to enrolment, payments and every service's audit events."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from reconciliation.db.unit_of_work import ReconciliationUnitOfWork
from reconciliation.service import RECONCILIATION, consumer_unit_of_work_factory
from reconciliation.use_cases.chain_audit import append_to_chain
from reconciliation.use_cases.follow_payments import (
    expect_instructed,
    follow_outcomes,
    follow_voucher_redeemed,
    follow_vouchers_expired,
    follow_vouchers_issued,
)
from reconciliation.use_cases.report_cycle import announce_changed
from shared.consumer import Handler
from shared.events import Envelope, Topic
from shared.events.contracts import (
    AuditRecorded,
    CycleApproved,
    CycleCancelled,
    CycleClosed,
    CycleCreated,
    CycleReleased,
    HouseholdFacts,
    HouseholdsRegistered,
    PaymentsConfirmed,
    PaymentsFailed,
    PaymentsInDoubt,
    PaymentsInstructed,
    PaymentsReversed,
    PaymentsSent,
    PaymentsStatusConflicted,
    VoucherRedeemed,
    VouchersExpired,
    VouchersIssued,
)
from shared.runtime import start_process
from shared.service import run_consumer
from shared.settings import Settings
from shared.unit_of_work import UnitOfWork


def when_household_registered_add_payee(uow: ReconciliationUnitOfWork, event: Envelope) -> None:
    assert isinstance(event.data, HouseholdFacts)
    uow.payees.upsert_many([event.data])


def when_households_registered_add_payees(uow: ReconciliationUnitOfWork, event: Envelope) -> None:
    assert isinstance(event.data, HouseholdsRegistered)
    uow.payees.upsert_many(event.data.items)


def when_action_recorded_chain_it(uow: ReconciliationUnitOfWork, event: Envelope) -> None:
    assert isinstance(event.data, AuditRecorded)
    append_to_chain(uow, event.data, event_id=event.id)


def when_cycle_created_record_it(uow: ReconciliationUnitOfWork, event: Envelope) -> None:
    data = event.data
    assert isinstance(data, CycleCreated)
    uow.cycles.record(
        data.cycle_id,
        "created",
        programme_code=data.programme_code,
        period=data.period,
        planned_count=data.planned_count,
        planned_amount=data.planned_amount,
    )


def when_cycle_moved_record_its_state(uow: ReconciliationUnitOfWork, event: Envelope) -> None:
    data = event.data
    assert isinstance(data, CycleApproved | CycleReleased | CycleCancelled | CycleClosed)
    state = {"cycle.approved": "approved", "cycle.released": "released", "cycle.cancelled": "cancelled"}
    uow.cycles.record(data.cycle_id, state.get(event.type, "closed"))


def when_payments_instructed_expect_them(uow: ReconciliationUnitOfWork, event: Envelope) -> None:
    assert isinstance(event.data, PaymentsInstructed)
    expect_instructed(uow, event.data, at=event.time)


def when_payments_moved_judge_them_again(uow: ReconciliationUnitOfWork, event: Envelope) -> None:
    data = event.data
    assert isinstance(
        data, PaymentsSent | PaymentsConfirmed | PaymentsFailed | PaymentsInDoubt | PaymentsReversed
    )
    follow_outcomes(uow, data.items)


def when_payment_status_conflicted_keep_the_claim(uow: ReconciliationUnitOfWork, event: Envelope) -> None:
    assert isinstance(event.data, PaymentsStatusConflicted)
    follow_outcomes(uow, event.data.items, conflicted=True)


def when_vouchers_issued_expect_them(uow: ReconciliationUnitOfWork, event: Envelope) -> None:
    assert isinstance(event.data, VouchersIssued)
    follow_vouchers_issued(uow, event.data)


def when_voucher_redeemed_record_it(uow: ReconciliationUnitOfWork, event: Envelope) -> None:
    assert isinstance(event.data, VoucherRedeemed)
    follow_voucher_redeemed(uow, event.data)


def when_vouchers_expired_record_them(uow: ReconciliationUnitOfWork, event: Envelope) -> None:
    assert isinstance(event.data, VouchersExpired)
    follow_vouchers_expired(uow, event.data)


HANDLERS: dict[str, Handler] = {
    "household.registered": when_household_registered_add_payee,
    "household.updated": when_household_registered_add_payee,
    "households.registered": when_households_registered_add_payees,
    "audit.recorded": when_action_recorded_chain_it,
    "cycle.created": when_cycle_created_record_it,
    "cycle.approved": when_cycle_moved_record_its_state,
    "cycle.released": when_cycle_moved_record_its_state,
    "cycle.cancelled": when_cycle_moved_record_its_state,
    "cycle.closed": when_cycle_moved_record_its_state,
    "payments.instructed": when_payments_instructed_expect_them,
    "payments.sent": when_payments_moved_judge_them_again,
    "payments.confirmed": when_payments_moved_judge_them_again,
    "payments.failed": when_payments_moved_judge_them_again,
    "payments.in_doubt": when_payments_moved_judge_them_again,
    "payments.reversed": when_payments_moved_judge_them_again,
    "payments.status_conflicted": when_payment_status_conflicted_keep_the_claim,
    "vouchers.issued": when_vouchers_issued_expect_them,
    "voucher.redeemed": when_voucher_redeemed_record_it,
    "vouchers.expired": when_vouchers_expired_record_them,
}
TOPICS = [Topic.HOUSEHOLDS, Topic.AUDIT, Topic.CYCLES, Topic.PAYMENTS, Topic.VOUCHERS]


def announce_changed_cycles(open_unit_of_work: Callable[[], UnitOfWork]) -> int:
    """The consumer's tick: `cycle.reconciled` for the cycles its events changed a while ago."""
    with open_unit_of_work() as uow:
        assert isinstance(uow, ReconciliationUnitOfWork)
        announced = announce_changed(uow)
        uow.commit()
    return announced


def main() -> None:
    settings = Settings()
    start_process("reconciliation-consumer", settings.log_level)
    run_consumer(
        replace(RECONCILIATION, unit_of_work=consumer_unit_of_work_factory),
        settings,
        handlers=HANDLERS,
        topics=TOPICS,
        tick=announce_changed_cycles,
    )


if __name__ == "__main__":
    main()
