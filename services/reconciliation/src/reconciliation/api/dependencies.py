"""`Annotated` dependency aliases of the reconciliation API: who may call, and the unit of work."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from reconciliation.db.unit_of_work import ReconciliationUnitOfWork
from shared.auth import Principal
from shared.http.security import require


def unit_of_work(request: Request) -> ReconciliationUnitOfWork:
    factory = request.app.state.unit_of_work
    uow: ReconciliationUnitOfWork = factory()
    return uow


Operator = Annotated[Principal, Depends(require("operator", "admin"))]
Reader = Annotated[Principal, Depends(require("operator", "auditor", "admin"))]
UnitOfWorkDep = Annotated[ReconciliationUnitOfWork, Depends(unit_of_work)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]


def sees_full_numbers(principal: Principal) -> bool:
    """Operators and admins see whole mobile numbers; auditors only their last four digits."""
    return principal.kind in ("operator", "admin")
