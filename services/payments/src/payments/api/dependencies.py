"""`Annotated` dependency aliases of the payments API: who may call, and the unit of work."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from payments.db.unit_of_work import PaymentsUnitOfWork
from payments.settings import PaymentsSettings
from shared.auth import Principal
from shared.http.security import require


def unit_of_work(request: Request) -> PaymentsUnitOfWork:
    factory = request.app.state.unit_of_work
    uow: PaymentsUnitOfWork = factory()
    return uow


def payments_settings(request: Request) -> PaymentsSettings:
    settings: PaymentsSettings = request.app.state.payments_settings
    return settings


Operator = Annotated[Principal, Depends(require("operator", "admin"))]
Approver = Annotated[Principal, Depends(require("approver"))]
Decider = Annotated[Principal, Depends(require("operator", "approver", "admin"))]
Reader = Annotated[Principal, Depends(require("operator", "approver", "auditor", "admin"))]
VoucherReader = Annotated[Principal, Depends(require("operator", "auditor", "admin", "vendor"))]
Vendor = Annotated[Principal, Depends(require("vendor"))]
UnitOfWorkDep = Annotated[PaymentsUnitOfWork, Depends(unit_of_work)]
SettingsDep = Annotated[PaymentsSettings, Depends(payments_settings)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]
