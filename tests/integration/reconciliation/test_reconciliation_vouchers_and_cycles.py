"""Cycles and vouchers as payments announces them: the summary counts vouchers issued, redeemed and expired."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from pydantic import BaseModel

from shared.events import Envelope
from shared.events.contracts import (
    CycleCreated,
    CycleReleased,
    IssuedVoucher,
    VoucherRedeemed,
    VouchersExpired,
    VouchersIssued,
)

CYCLE = uuid.UUID("2025a000-0000-4000-8000-0000000000f0")


def voucher(amount: int) -> IssuedVoucher:
    return IssuedVoucher(
        voucher_id=uuid.uuid4(),
        payment_id=uuid.uuid4(),
        instruction_id=f"VCH-{amount}-{uuid.uuid4().hex[:4]}",
        household_id=uuid.uuid4(),
        amount=amount,
        expires_at=datetime.now(UTC) + timedelta(days=30),
    )


def test_vouchers_issued_redeemed_and_expired_are_counted_in_the_cycle_summary(
    deliver: Callable[[BaseModel], Envelope], client: TestClient, tokens: dict[str, str]
) -> None:
    deliver(
        CycleCreated(
            cycle_id=CYCLE,
            programme_code="CADRE-COMMUN",
            period="2026-Q1",
            funding_line="ECHO-2026",
            created_by="awa",
            planned_count=3,
            planned_amount=100_000,
        )
    )
    deliver(
        CycleReleased(
            cycle_id=CYCLE,
            programme_code="CADRE-COMMUN",
            period="2026-Q1",
            released_by="b",
            count=3,
            amount=100_000,
        )
    )
    issued = [voucher(30_000), voucher(30_000), voucher(40_000)]
    deliver(VouchersIssued(cycle_id=CYCLE, items=issued))
    deliver(
        VoucherRedeemed(
            voucher_id=issued[0].voucher_id,
            payment_id=issued[0].payment_id,
            cycle_id=CYCLE,
            vendor_id="v1",
            amount=30_000,
            redeemed_at=datetime.now(UTC),
        )
    )
    deliver(VouchersExpired(cycle_id=CYCLE, voucher_ids=[issued[2].voucher_id]))

    answer = client.get(
        f"/v1/cycles/{CYCLE}/reconciliation", headers={"Authorization": f"Bearer {tokens['auditor']}"}
    )

    assert answer.status_code == 200, answer.text
    assert (answer.json()["programme"], answer.json()["period"]) == ("CADRE-COMMUN", "2026-Q1")
    assert answer.json()["vouchers"] == {
        "issued": {"count": 3, "amount": 100_000},
        "redeemed": {"count": 1, "amount": 30_000},
        "expired": {"count": 1, "amount": 40_000},
        "reported": {"count": 0, "amount": 0},
        "report_matched": {"count": 0, "amount": 0},
        "report_differs": {"count": 0, "amount": 0},
        "missing_from_reports": {"count": 0, "amount": 0},
        "awaiting_report": {"count": 1, "amount": 30_000},
    }
