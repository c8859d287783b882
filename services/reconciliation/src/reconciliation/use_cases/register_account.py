"""Make an account known (its statements are then accepted) or record a float funding we ordered."""

from __future__ import annotations

from reconciliation.db.unit_of_work import ReconciliationUnitOfWork
from shared.audit import record_action
from shared.auth import Principal
from shared.errors import InvalidInput


def register_account(
    uow: ReconciliationUnitOfWork, *, account_id: str, provider: str, registered_by: Principal
) -> None:
    if not account_id.strip() or not provider.strip():
        raise InvalidInput("an account needs its id and the provider whose money it holds")
    uow.accounts.add(account_id.strip(), provider=provider.strip(), added_by=registered_by.name)
    record_action(
        uow,
        actor=registered_by,
        action="account.register",
        subject=f"account/{account_id.strip()}",
        after={"provider": provider.strip()},
    )


def register_funding(
    uow: ReconciliationUnitOfWork, *, reference: str, amount: int, registered_by: Principal
) -> None:
    if not reference.strip() or amount < 0:
        raise InvalidInput("a funding needs its reference and a non-negative amount in XOF")
    uow.accounts.add_funding(reference.strip(), amount=amount, added_by=registered_by.name)
    record_action(
        uow,
        actor=registered_by,
        action="funding.register",
        subject=f"funding/{reference.strip()}",
        after={"amount": amount, "currency": "XOF"},
    )
