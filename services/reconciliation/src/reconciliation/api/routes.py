"""Thin routes of the reconciliation API."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter

from reconciliation.api.dependencies import Reader, UnitOfWorkDep
from shared.errors import NotFound

router = APIRouter(prefix="/v1", tags=["payees"])


@router.get("/payees/{household_id}")
def get_payees(household_id: UUID, user: Reader, uow: UnitOfWorkDep) -> dict[str, Any]:
    """What this service has learnt of a household from enrolment's events."""
    with uow:
        row = uow.payees.get(household_id)
    if row is None:
        raise NotFound(f"no household {household_id} known here (yet)")
    return row
