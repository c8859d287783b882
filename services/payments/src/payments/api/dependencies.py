"""`Annotated` dependency aliases of the payments API: who may call, and the unit of work."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from payments.db.unit_of_work import PaymentsUnitOfWork
from shared.auth import Principal
from shared.http.security import require


def unit_of_work(request: Request) -> PaymentsUnitOfWork:
    factory = request.app.state.unit_of_work
    uow: PaymentsUnitOfWork = factory()
    return uow


Operator = Annotated[Principal, Depends(require("operator", "admin"))]
Reader = Annotated[Principal, Depends(require("operator", "auditor", "admin"))]
UnitOfWorkDep = Annotated[PaymentsUnitOfWork, Depends(unit_of_work)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]
