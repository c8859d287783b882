"""Keep expectations, cycles and vouchers in step with what payments reports, and match again."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from reconciliation.db.unit_of_work import ReconciliationUnitOfWork
from reconciliation.use_cases.match_redemptions import match_redemptions
from reconciliation.use_cases.rematch import rematch
from reconciliation.use_cases.report_cycle import announce_reconciled
from shared.events.contracts import (
    PaymentOutcome,
    PaymentsInstructed,
    VoucherRedeemed,
    VouchersExpired,
    VouchersIssued,
)


def expect_instructed(uow: ReconciliationUnitOfWork, event: PaymentsInstructed, *, at: datetime) -> None:
    """New expectations, matched at once against statements that may already have settled them."""
    new = uow.expectations.add_instructed(event, on=at.date())
    if new:
        rematch(uow, instruction_ids=new)
        announce_reconciled(uow, {event.cycle_id})  # planned and instructed, whatever the outcomes


def follow_outcomes(
    uow: ReconciliationUnitOfWork, items: Sequence[PaymentOutcome], *, conflicted: bool = False
) -> None:
    """A payment's state changed (or a provider contradicted it): judge it again."""
    moved = uow.expectations.moved_by(items, conflicted=conflicted)
    if moved:
        rematch(uow, instruction_ids=moved, moved=moved)


def follow_vouchers_issued(uow: ReconciliationUnitOfWork, event: VouchersIssued) -> None:
    uow.cycles.add_vouchers(event.cycle_id, event.items)


def follow_voucher_redeemed(uow: ReconciliationUnitOfWork, event: VoucherRedeemed) -> None:
    """Record the redemption; with its code, match it against vendors' reports (one may have come first)."""
    known = uow.cycles.redeem_voucher(
        event.voucher_id,
        vendor_id=event.vendor_id,
        amount=event.amount,
        at=event.redeemed_at,
        code=event.code,
    )
    if known and event.code is not None:
        match_redemptions(uow, codes={event.code})


def follow_vouchers_expired(uow: ReconciliationUnitOfWork, event: VouchersExpired) -> None:
    uow.cycles.expire_vouchers(event.voucher_ids)
