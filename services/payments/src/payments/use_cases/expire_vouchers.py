"""Expire the vouchers nobody redeemed in time: the voucher becomes EXPIRED and its payment FAILED (EXPIRED).

Nothing was paid for an expired voucher, so its payment ends FAILED with the canonical code EXPIRED (its cycle
can then close), and `vouchers.expired` tells the other services which vouchers lapsed. A redemption racing the
expiry is decided by the voucher row: whichever conditional UPDATE comes first wins, the other finds it taken.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from uuid import UUID

from payments.db.unit_of_work import PaymentsUnitOfWork
from payments.domain.payments import Authenticity, FailureCode, PaymentState
from payments.providers.events import ProviderEvent
from payments.use_cases.record_payment_news import EVENT_BATCH, News, record_payment_news
from shared.events.contracts import VouchersExpired


def expire_vouchers(uow: PaymentsUnitOfWork, *, limit: int) -> int:
    """Expire up to `limit` vouchers past `expires_at`; how many were expired."""
    expired = uow.vouchers.expire_due(limit=limit)
    if not expired:
        return 0
    now = datetime.now(UTC)
    news = {
        row["payment_id"]: [
            News(
                "evidence",
                evidence=ProviderEvent(
                    event_key=f"voucher-expired:{row['id']}",
                    provider="voucher",
                    received_at=now,
                    status=PaymentState.FAILED,
                    raw_status="expired",
                    authenticity=Authenticity.VERIFIED_BY_QUERY,
                    failure_code=FailureCode.EXPIRED,
                ),
            )
        ]
        for row in expired
    }
    record_payment_news(uow, news, source="voucher-expiry")
    by_cycle: dict[UUID, list[UUID]] = defaultdict(list)
    for row in expired:
        by_cycle[row["cycle_id"]].append(row["id"])
    for cycle_id, voucher_ids in by_cycle.items():
        for start in range(0, len(voucher_ids), EVENT_BATCH):
            uow.publish(
                VouchersExpired(cycle_id=cycle_id, voucher_ids=voucher_ids[start : start + EVENT_BATCH]),
                subject=str(cycle_id),
            )
    return len(expired)
