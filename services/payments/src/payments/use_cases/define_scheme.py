"""Define (or replace) the transfer scheme of a programme."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from payments.db.unit_of_work import PaymentsUnitOfWork
from payments.domain.schemes import Period, TransferScheme
from shared.audit import record_action
from shared.auth import Principal
from shared.errors import Conflict, InvalidInput

#: The providers this service has adapters for (routing targets).
KNOWN_PROVIDERS = frozenset({"gsma", "mtn", "wave", "orange-bulk"})


def define_scheme(
    uow: PaymentsUnitOfWork,
    *,
    programme_code: str,
    first_period: str,
    scheme: TransferScheme,
    actor: Principal,
) -> dict[str, Any]:
    Period.parse(first_period)
    if scheme.routing is not None:
        unknown = set(scheme.routing.routes.values()) - KNOWN_PROVIDERS
        if unknown:
            raise InvalidInput(
                f"unknown providers in the routing: {sorted(unknown)}",
                details={"known": sorted(KNOWN_PROVIDERS)},
            )
    owner = uow.schemes.programme_using_reference_code(scheme.programme_code)
    if owner is not None and owner != programme_code:
        raise Conflict(
            f"reference code {scheme.programme_code} is already used by programme {owner}",
            details={"reference_code": scheme.programme_code, "programme_code": owner},
        )
    scheme_id = uuid4()
    body = {"scheme": scheme.model_dump(mode="json")}
    uow.schemes.add(
        scheme_id=scheme_id,
        programme_code=programme_code,
        first_period=first_period,
        body=body,
        created_by=actor.name,
    )
    record_action(
        uow,
        actor=actor,
        action="scheme.define",
        subject=f"scheme/{scheme_id}",
        after={"programme_code": programme_code, **body},
    )
    stored = uow.schemes.get(scheme_id)
    assert stored is not None
    return stored
