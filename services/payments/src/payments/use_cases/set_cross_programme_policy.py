"""Say what happens when a household of one programme is also active in another: allow, flag or block."""

from __future__ import annotations

from payments.db.unit_of_work import PaymentsUnitOfWork
from shared.audit import record_action
from shared.auth import Principal
from shared.errors import InvalidInput


def set_cross_programme_policy(
    uow: PaymentsUnitOfWork, *, programme_code: str, other_code: str, action: str, actor: Principal
) -> dict[str, str]:
    if programme_code == other_code:
        raise InvalidInput("a cross-programme policy names two different programmes")
    uow.schemes.set_policy(programme_code, other_code, action, actor.name)
    pair = {"programme_code": programme_code, "other_code": other_code, "action": action}
    record_action(
        uow, actor=actor, action="policy.set", subject=f"policy/{programme_code}/{other_code}", after=pair
    )
    return pair
