"""Thin routes of the payments API."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter

from payments.api.dependencies import Reader, UnitOfWorkDep
from shared.errors import NotFound

router = APIRouter(prefix="/v1", tags=["beneficiaries"])


@router.get("/beneficiaries/{household_id}")
def get_beneficiaries(household_id: UUID, user: Reader, uow: UnitOfWorkDep) -> dict[str, Any]:
    """What this service has learnt of a household from enrolment's events."""
    with uow:
        row = uow.beneficiaries.get(household_id)
    if row is None:
        raise NotFound(f"no household {household_id} known here (yet)")
    return row
