"""A registered vendor redeems a voucher for its whole value, exactly once, before it expires."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from payments.db.unit_of_work import PaymentsUnitOfWork
from payments.domain.payments import Authenticity, PaymentState
from payments.domain.vouchers import normalise_voucher_code
from payments.providers.events import ProviderEvent
from payments.use_cases.record_payment_news import News, record_payment_news
from shared.audit import record_action
from shared.auth import Principal
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from shared.events.contracts import VoucherRedeemed


def find_voucher(uow: PaymentsUnitOfWork, code: str) -> dict[str, Any]:
    voucher = uow.vouchers.get(normalise_voucher_code(code))
    if voucher is None:
        raise NotFound("no such voucher")
    return voucher


def redeem_voucher(uow: PaymentsUnitOfWork, *, code: str, amount: int, actor: Principal) -> dict[str, Any]:
    vendor_id = actor.qualifier or ""
    voucher = find_voucher(uow, code)
    vendor = uow.vouchers.vendor(vendor_id)
    if vendor is None or not vendor["active"]:
        raise Forbidden(f"vendor {vendor_id} is not registered")
    if voucher["programme_code"] not in vendor["programme_codes"]:
        raise Forbidden(f"vendor {vendor_id} is not registered for programme {voucher['programme_code']}")
    if amount != voucher["amount"]:
        raise InvalidInput(
            f"a voucher is redeemed for its whole value, {voucher['amount']} XOF", details={"asked": amount}
        )
    taken = uow.vouchers.take(voucher["code"])
    if taken is None:
        current = uow.vouchers.get(voucher["code"])
        assert current is not None
        if current["state"] == "ISSUED":
            raise Conflict(
                "this voucher has expired", details={"expires_at": current["expires_at"].isoformat()}
            )
        raise Conflict(f"this voucher is {current['state']}", details={"state": current["state"]})
    now = datetime.now(UTC)
    uow.vouchers.record_redemption(taken["id"], vendor_id, amount)
    evidence = ProviderEvent(
        event_key=f"voucher:{taken['id']}",
        provider="voucher",
        received_at=now,
        status=PaymentState.SUCCEEDED,
        raw_status="redeemed",
        authenticity=Authenticity.VERIFIED_BY_QUERY,
        amount=amount,
        currency="XOF",
    )
    record_payment_news(
        uow, {taken["payment_id"]: [News("evidence", evidence=evidence)]}, source=f"vendor:{vendor_id}"
    )
    uow.publish(
        VoucherRedeemed(
            voucher_id=taken["id"],
            payment_id=taken["payment_id"],
            cycle_id=taken["cycle_id"],
            vendor_id=vendor_id,
            amount=amount,
            redeemed_at=now,
            code=taken["code"],
        ),
        subject=str(taken["cycle_id"]),
    )
    record_action(
        uow,
        actor=actor,
        action="voucher.redeem",
        subject=f"voucher/{taken['id']}",
        before={"state": "ISSUED"},
        after={"state": "REDEEMED", "vendor_id": vendor_id, "amount": amount},
    )
    redeemed = uow.vouchers.get(voucher["code"])
    assert redeemed is not None
    return redeemed
