"""Automatic exits: programme duration over, temporary enrolment past its end date or its paid cycles."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from enrolment.db.unit_of_work import EnrolmentUnitOfWork
from enrolment.domain.enrolments import SYSTEM, Enrolment
from enrolment.events import publish_enrolments
from shared.audit import record_action
from shared.auth import Principal

#: Who the automatic exits are recorded as, when no operator asked for them (a consumed event).
SYSTEM_ACTOR = Principal(uuid.UUID(int=0), SYSTEM, "system")


def _exit_due(
    uow: EnrolmentUnitOfWork, candidates: Sequence[tuple[Enrolment, int]], *, at: datetime
) -> Counter[str]:
    programmes = uow.programmes.by_code()
    exited: list[Enrolment] = []
    reasons: Counter[str] = Counter()
    for enrolment, paid_cycles in candidates:
        reason = enrolment.exit_if_due(programmes[enrolment.programme_code], at=at, paid_cycles=paid_cycles)
        if reason is not None:
            exited.append(enrolment)
            reasons[reason] += 1
    uow.enrolments.save(exited)
    publish_enrolments(uow, exited, at=at)
    return reasons


def sweep_enrolments(uow: EnrolmentUnitOfWork, *, at: datetime, actor: Principal) -> Counter[str]:
    """Exit every enrolment whose programme duration or temporary end date has passed; reasons counted."""
    reasons = _exit_due(uow, uow.enrolments.may_end(), at=at)
    record_action(
        uow,
        actor=actor,
        action="enrolments.sweep",
        subject="enrolments",
        after={"exited": sum(reasons.values()), "reasons": dict(reasons)},
    )
    return reasons


def count_paid_cycle(
    uow: EnrolmentUnitOfWork,
    *,
    cycle_id: uuid.UUID,
    programme_code: str,
    household_ids: Sequence[uuid.UUID],
    at: datetime,
) -> Counter[str]:
    """A released cycle paid these households: count it once per temporary enrolment, exit those at their end."""
    counted = uow.enrolments.count_paid_cycle(cycle_id, programme=programme_code, household_ids=household_ids)
    if not counted:
        return Counter()
    paid = uow.enrolments.paid_cycles(counted)
    candidates = [(e, paid.get(e.id, 0)) for e in uow.enrolments.many(counted, lock=True)]
    reasons = _exit_due(uow, candidates, at=at)
    if reasons:
        record_action(
            uow,
            actor=SYSTEM_ACTOR,
            action="enrolments.exit_after_cycles",
            subject=f"cycle/{cycle_id}",
            after={"exited": sum(reasons.values()), "reasons": dict(reasons)},
        )
    return reasons
