"""Thin routes of the enrolment API: authenticate, open the unit of work, call a use case, commit."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response

from enrolment.api.dependencies import IdempotencyKey, Reader, UnitOfWorkDep, Writer
from enrolment.api.schemas import HouseholdIn, HouseholdOut
from enrolment.use_cases.register_household import register_household
from shared.errors import NotFound
from shared.http.idempotency import fingerprint, run_once

router = APIRouter(prefix="/v1", tags=["households"])


@router.post("/households", status_code=201, response_model=HouseholdOut)
def post_household(
    body: HouseholdIn, user: Writer, uow: UnitOfWorkDep, key: IdempotencyKey = None
) -> Response:
    with uow:
        return run_once(
            uow,
            principal=user,
            key=key,
            request_fingerprint=fingerprint("POST", "/v1/households", body),
            work=lambda: (
                201,
                HouseholdOut.model_validate(register_household(uow, facts=body.model_dump(), actor=user)),
            ),
        )


@router.get("/households/{household_id}", response_model=HouseholdOut)
def get_household(household_id: UUID, user: Reader, uow: UnitOfWorkDep) -> HouseholdOut:
    with uow:
        row = uow.households.get(household_id)
    if row is None:
        raise NotFound(f"no household {household_id}")
    return HouseholdOut.model_validate(row)
