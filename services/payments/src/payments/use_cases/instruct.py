"""What every way of sending a payment does alike: the instruction a provider is given for a claimed payment,
and `payments.instructed` published for the claimed payments (the dispatcher, and bulk files for portals)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from payments.db.unit_of_work import PaymentsUnitOfWork
from payments.providers.events import Instruction
from shared.events.contracts import InstructedPayment, PaymentsInstructed

EVENT_BATCH = 1000


def instruction_of(row: Mapping[str, Any], *, callback_url: str | None = None) -> Instruction:
    """The instruction for a claimed payment (a row of `claim_to_send` or of a query claim)."""
    return Instruction(
        reference=row["reference"],
        provider_request_key=row["provider_request_key"],
        amount=int(row["amount"]),
        payee_msisdn=row["payee_msisdn"] or "",
        payee_name=row.get("payee_name"),
        description=f"Transfert {row['reference']}",
        callback_url=callback_url,
        provider_tx_ref=row["provider_tx_ref"],
        request_state_ref=row["request_state_ref"],
    )


def publish_instructed(uow: PaymentsUnitOfWork, rows: Sequence[Mapping[str, Any]]) -> None:
    """`payments.instructed` for claimed payments, per cycle, in batches of items."""
    by_cycle: dict[UUID, list[InstructedPayment]] = defaultdict(list)
    for row in rows:
        by_cycle[row["cycle_id"]].append(
            InstructedPayment(
                payment_id=row["id"],
                instruction_id=row["reference"],
                attempt_no=row["attempt_no"],
                provider_request_key=str(row["provider_request_key"]),
                household_id=row["household_id"],
                payee_msisdn=row["payee_msisdn"],
                amount=int(row["amount"]),
                base_amount=int(row["base_amount"]),
                top_up_amount=int(row["top_up_amount"]),
                provider=row["provider"],
                modality=row["modality"],
                region=row["region"],
                cercle=row["cercle"],
                commune=row["commune"],
                reissue_of=row["reissue_of"],
            )
        )
    for cycle_id, items in by_cycle.items():
        cycle = uow.cycles.get(cycle_id)
        assert cycle is not None
        for start in range(0, len(items), EVENT_BATCH):
            uow.publish(
                PaymentsInstructed(
                    cycle_id=cycle_id,
                    programme_code=cycle["programme_code"],
                    period=cycle["period"],
                    items=items[start : start + EVENT_BATCH],
                ),
                subject=str(cycle_id),
            )
