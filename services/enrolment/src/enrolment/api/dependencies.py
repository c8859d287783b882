"""`Annotated` dependency aliases of the enrolment API: who may call, the unit of work, the import runner."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from enrolment.api.import_runner import ImportRunner
from enrolment.db.unit_of_work import EnrolmentUnitOfWork
from shared.auth import Principal
from shared.http.security import require


def unit_of_work(request: Request) -> EnrolmentUnitOfWork:
    factory = request.app.state.unit_of_work
    uow: EnrolmentUnitOfWork = factory()
    return uow


def import_runner(request: Request) -> ImportRunner:
    runner: ImportRunner = request.app.state.imports
    return runner


Writer = Annotated[Principal, Depends(require("operator", "admin"))]
Reader = Annotated[Principal, Depends(require("operator", "auditor", "admin"))]
UnitOfWorkDep = Annotated[EnrolmentUnitOfWork, Depends(unit_of_work)]
ImportRunnerDep = Annotated[ImportRunner, Depends(import_runner)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]
