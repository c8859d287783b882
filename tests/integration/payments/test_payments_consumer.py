"""The consumer's rules: memberships follow enrolment events, payees follow their details, duplicates are never paid."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from payments.consumer import HANDLERS
from payments.db.unit_of_work import PaymentsUnitOfWork
from shared.events import new_envelope
from shared.events.contracts import (
    DuplicateConfirmed,
    EnrolmentItem,
    EnrolmentsSuspended,
    PaymentDetailsChanged,
)

Flow = Any
Seed = Any


def _apply(uow: Callable[[], PaymentsUnitOfWork], data: Any, *, recorded_at: datetime | None = None) -> None:
    with uow() as unit:
        envelope = new_envelope(source="/filet/enrolment", data=data, subject="s")
        if recorded_at is not None:
            envelope = envelope.model_copy(update={"time": recorded_at})
        HANDLERS[envelope.type](unit, envelope)
        unit.commit()


def _suspension(household_id: uuid.UUID, at: datetime) -> EnrolmentsSuspended:
    item = EnrolmentItem(
        enrolment_id=uuid.uuid4(), household_id=household_id, status="suspended", effective_at=at
    )
    return EnrolmentsSuspended(programme_code="JIGI", status="suspended", items=[item])


def test_a_suspended_household_is_not_entitled(flow: Flow, seed: Seed, uow: Any) -> None:
    flow.scheme()
    _kept, suspended = seed(count=2)
    _apply(uow, _suspension(suspended, datetime.now(UTC) + timedelta(seconds=1)))

    assert flow.cycle().json()["summary"]["total"]["count"] == 1


def test_an_enrolment_fact_recorded_earlier_never_overwrites_one_recorded_later(
    flow: Flow, seed: Seed, uow: Any
) -> None:
    flow.scheme()
    (household,) = seed(count=1)
    _apply(uow, _suspension(household, datetime.now(UTC)), recorded_at=datetime.now(UTC) - timedelta(days=30))

    assert flow.cycle().json()["summary"]["total"]["count"] == 1


def test_a_backdated_move_recorded_later_still_applies(flow: Flow, seed: Seed, uow: Any) -> None:
    flow.scheme()
    _kept, suspended = seed(count=2)
    _apply(uow, _suspension(suspended, datetime.now(UTC) - timedelta(days=30)))

    assert flow.cycle().json()["summary"]["total"]["count"] == 1


def test_a_confirmed_duplicate_is_never_paid(flow: Flow, seed: Seed, uow: Any) -> None:
    flow.scheme()
    kept, duplicate = seed(count=2)
    _apply(uow, DuplicateConfirmed(kept_id=kept, duplicate_id=duplicate, decided_by="reviewer"))

    assert flow.cycle().json()["summary"]["total"]["count"] == 1


def test_new_payment_details_route_the_household_to_its_new_operator(
    flow: Flow, seed: Seed, uow: Any
) -> None:
    flow.scheme()
    (household,) = seed(count=1, operator="orange")
    details = PaymentDetailsChanged(
        household_id=household,
        msisdn="+22365000001",
        operator="moov",
        effective_from=datetime.now(UTC).date(),
    )
    _apply(uow, details)

    assert flow.cycle().json()["summary"]["by_provider"] == {"mtn": {"count": 1, "amount": 30_000}}
