"""`Annotated` dependency aliases of the enrolment API: who may call, and the unit of work."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from enrolment.db.unit_of_work import EnrolmentUnitOfWork
from shared.auth import Principal
from shared.http.security import require


def unit_of_work(request: Request) -> EnrolmentUnitOfWork:
    factory = request.app.state.unit_of_work
    uow: EnrolmentUnitOfWork = factory()
    return uow


Writer = Annotated[Principal, Depends(require("operator", "admin"))]
Reader = Annotated[Principal, Depends(require("operator", "auditor", "admin"))]
UnitOfWorkDep = Annotated[EnrolmentUnitOfWork, Depends(unit_of_work)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]
