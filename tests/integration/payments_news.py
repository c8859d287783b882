"""Payments' news as reconciliation's tests deliver it: one orange_money instruction per id, and its outcomes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from shared.events.contracts import InstructedPayment, PaymentOutcome, PaymentsInstructed

AT = datetime(2025, 3, 14, 8, tzinfo=UTC)


def instructed(cycle_id: uuid.UUID, *instruction_ids: str) -> PaymentsInstructed:
    return PaymentsInstructed(
        cycle_id=cycle_id,
        programme_code="PFS",
        period="2025-Q1",
        items=[
            InstructedPayment(
                payment_id=uuid.uuid5(uuid.NAMESPACE_URL, instruction_id),
                instruction_id=instruction_id,
                provider_request_key=f"key-{instruction_id}",
                household_id=uuid.uuid4(),
                payee_msisdn="+22376999001",
                amount=30_000,
                base_amount=30_000,
                provider="orange_money",
                modality="mobile_money",
                region="Kayes",
                cercle="Kita",
                commune="Kita",
            )
            for instruction_id in instruction_ids
        ],
    )


def outcome(instruction_id: str, state: str, **facts: Any) -> PaymentOutcome:
    return PaymentOutcome(
        payment_id=uuid.uuid5(uuid.NAMESPACE_URL, instruction_id),
        instruction_id=instruction_id,
        state=state,
        provider="orange_money",
        at=AT,
        **facts,
    )
