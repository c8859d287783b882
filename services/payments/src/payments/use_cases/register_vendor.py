"""Register a vendor (trader) who may redeem the vouchers of some programmes; its token role is `vendor:<id>`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from payments.db.unit_of_work import PaymentsUnitOfWork
from shared.audit import record_action
from shared.auth import Principal


def register_vendor(
    uow: PaymentsUnitOfWork, *, vendor_id: str, name: str, programme_codes: Sequence[str], actor: Principal
) -> dict[str, Any]:
    uow.vouchers.add_vendor(
        vendor_id=vendor_id, name=name, programme_codes=programme_codes, created_by=actor.name
    )
    vendor = uow.vouchers.vendor(vendor_id)
    assert vendor is not None
    record_action(
        uow,
        actor=actor,
        action="vendor.register",
        subject=f"vendor/{vendor_id}",
        after={"name": name, "programme_codes": list(programme_codes)},
    )
    return vendor
