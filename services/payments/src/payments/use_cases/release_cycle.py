"""Release an approved cycle: one payment per payable entitlement (set-based), re-issues as new attempts of the
failed payments they stand for, vouchers issued; releasing twice is a no-op."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from payments.db.unit_of_work import PaymentsUnitOfWork
from payments.domain.references import instruction_reference
from payments.domain.schemes import Period, TransferScheme
from payments.domain.vouchers import new_voucher_code
from payments.use_cases.record_payment_news import domain_payment
from payments.use_cases.submit_cycle import cycle_for_decision, refuse_transition
from shared.audit import record_action
from shared.auth import Principal
from shared.events.contracts import CycleReleased, IssuedVoucher, VouchersIssued

VOUCHER_EVENT_BATCH = 1000


def release_cycle(uow: PaymentsUnitOfWork, *, cycle_id: UUID, actor: Principal, voucher_days: int) -> bool:
    """True if this call released the cycle, False if it already was (the answer is the same, nothing is sent)."""
    cycle = cycle_for_decision(uow, cycle_id)
    if cycle["state"] in {"released", "closed"}:
        return False
    if cycle["state"] != "approved":
        raise refuse_transition(cycle, "released", ["approved"])
    scheme_row = uow.schemes.get(cycle["scheme_id"])
    assert scheme_row is not None
    scheme = TransferScheme.model_validate(scheme_row["body"]["scheme"])
    period = Period.parse(cycle["period"])
    prefix = instruction_reference(scheme.programme_code, period, 1)[:-6]
    reason = f"cycle released by {actor.name}"
    count = uow.payments.create_for_cycle(cycle_id, reference_prefix=prefix, state="APPROVED", reason=reason)
    count += _reissue_failures(uow, cycle_id=cycle_id, reason=reason)
    _issue_vouchers(uow, cycle_id=cycle_id, programme_code=cycle["programme_code"], days=voucher_days)
    uow.cycles.update(cycle_id, state="released", released_by=actor.name, released_at=datetime.now(UTC))
    figures = uow.payments.cycle_figures(cycle_id)
    amount = sum(figures[1].values())
    uow.publish(
        CycleReleased(
            cycle_id=cycle_id,
            programme_code=cycle["programme_code"],
            period=cycle["period"],
            released_by=actor.name,
            count=count,
            amount=amount,
            household_ids=uow.payments.household_ids(cycle_id),
        ),
        subject=str(cycle_id),
    )
    record_action(
        uow,
        actor=actor,
        action="cycle.release",
        subject=f"cycle/{cycle_id}",
        before={"state": "approved"},
        after={"state": "released", "payments": count, "amount": amount},
    )
    return True


def _reissue_failures(uow: PaymentsUnitOfWork, *, cycle_id: UUID, reason: str) -> int:
    """Each re-issue line pays a new attempt of its failed payment: a new reference and a new provider key."""
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    for line in uow.payments.reissue_lines_to_pay(cycle_id):
        attempt = domain_payment(line).reissue().approve().expect_transition()
        rows.append(
            {
                "id": uuid4(),
                "cycle_id": cycle_id,
                "entitlement_id": line["line_entitlement_id"],
                "household_id": line["household_id"],
                "instruction_id": attempt.instruction_id,
                "attempt_no": attempt.attempt_no,
                "reference": attempt.reference,
                "provider_request_key": attempt.provider_request_key,
                "modality": line["line_modality"],
                "provider": line["line_provider"],
                "payee_msisdn": line["line_msisdn"],
                "amount": attempt.amount.amount,
                "base_amount": line["base_amount"],
                "top_up_amount": line["top_up_amount"],
                "state": attempt.state.value,
                "reissue_of": line["id"],
                "reissued_reference": line["reference"],
                "at": now,
            }
        )
    uow.payments.add_reissues(rows, reason=reason)
    return len(rows)


def _issue_vouchers(uow: PaymentsUnitOfWork, *, cycle_id: UUID, programme_code: str, days: int) -> None:
    """Voucher-modality payments get a code each and are issued at once (SUBMITTED until redeemed)."""
    chosen = uow.payments.approved_vouchers(cycle_id)
    if not chosen:
        return
    expires_at = datetime.now(UTC) + timedelta(days=days)
    vouchers = [
        {
            "id": uuid4(),
            "code": new_voucher_code(),
            "payment_id": row["id"],
            "cycle_id": cycle_id,
            "household_id": row["household_id"],
            "programme_code": programme_code,
            "amount": row["amount"],
            "expires_at": expires_at,
        }
        for row in chosen
    ]
    uow.vouchers.add_many(vouchers)
    uow.payments.write([dict(row, state="SUBMITTED", needs_query=False) for row in chosen])
    uow.payments.add_history(
        [
            {
                "payment_id": row["id"],
                "from_state": "APPROVED",
                "to_state": "SUBMITTED",
                "outcome": "transitioned",
                "reason": "voucher issued",
                "source": "release",
                "at": datetime.now(UTC),
            }
            for row in chosen
        ]
    )
    items = [
        IssuedVoucher(
            voucher_id=voucher["id"],
            payment_id=voucher["payment_id"],
            instruction_id=row["reference"],
            household_id=voucher["household_id"],
            amount=voucher["amount"],
            expires_at=expires_at,
        )
        for voucher, row in zip(vouchers, chosen, strict=True)
    ]
    for start in range(0, len(items), VOUCHER_EVENT_BATCH):
        uow.publish(
            VouchersIssued(cycle_id=cycle_id, items=items[start : start + VOUCHER_EVENT_BATCH]),
            subject=str(cycle_id),
        )
