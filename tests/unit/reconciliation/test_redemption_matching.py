"""Redeemed vouchers against vendors' reported lines: the statements' vocabulary, one meaning each."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from reconciliation.domain.matching import InstructionOutcome, LineOutcome, Severity
from reconciliation.domain.redemptions import RedeemedVoucher, ReportedLine, reconcile_redemptions
from reconciliation.redemptions.report import Coverage

CYCLE = uuid.uuid4()
REPORT = uuid.uuid4()
LATER_REPORT = uuid.uuid4()
ON = datetime(2026, 4, 2, 10, 0, tzinfo=UTC)


def voucher(code: str, *, vendor: str = "V-1", amount: int = 30_000, at: datetime = ON) -> RedeemedVoucher:
    return RedeemedVoucher(uuid.uuid4(), code, CYCLE, f"VCH-{code[-4:]}", vendor, amount, at)


def line(
    code: str, *, vendor: str = "V-1", amount: int = 30_000, report: uuid.UUID = REPORT, at: int = 0
) -> ReportedLine:
    return ReportedLine(report, at, at + 2, vendor, code, amount, ON)


def test_a_voucher_its_vendor_reports_at_its_amount_is_matched() -> None:
    redeemed = voucher("1" * 16)

    result = reconcile_redemptions([redeemed], [line("1" * 16)], [])

    assert [(item.outcome, item.voucher_id, item.discrepancy) for item in result.lines] == [
        (LineOutcome.MATCHED, redeemed.voucher_id, None)
    ]
    assert [(item.outcome, item.discrepancy) for item in result.vouchers] == [
        (InstructionOutcome.MATCHED, None)
    ]


def test_another_amount_is_an_amount_mismatch_of_the_difference_without_tolerance() -> None:
    result = reconcile_redemptions([voucher("1" * 16)], [line("1" * 16, amount=30_001)], [])

    judged = result.vouchers[0]
    assert result.lines[0].outcome is InstructionOutcome.AMOUNT_MISMATCH
    assert judged.outcome is InstructionOutcome.AMOUNT_MISMATCH
    assert judged.discrepancy is not None
    assert (judged.discrepancy.category, judged.discrepancy.amount_at_stake) == ("AMOUNT_MISMATCH", 1)
    assert judged.discrepancy.severity is Severity.CRITICAL
    assert judged.evidence == line("1" * 16, amount=30_001)


def test_a_code_reported_twice_is_a_duplicate_settlement_of_the_extra_claim() -> None:
    lines = [line("1" * 16), line("1" * 16, report=LATER_REPORT, at=5)]

    result = reconcile_redemptions([voucher("1" * 16)], lines, [])

    assert [item.outcome for item in result.lines] == [
        LineOutcome.MATCHED,
        InstructionOutcome.DUPLICATE_SETTLEMENT,
    ]
    judged = result.vouchers[0]
    assert judged.outcome is InstructionOutcome.DUPLICATE_SETTLEMENT
    assert judged.discrepancy is not None
    assert judged.discrepancy.amount_at_stake == 30_000
    assert judged.evidence == lines[1]


def test_a_code_payments_never_redeemed_is_an_unknown_reference_of_the_amount_claimed() -> None:
    result = reconcile_redemptions([], [line("2" * 16, amount=25_000)], [])

    judged = result.lines[0]
    assert (judged.outcome, judged.voucher_id) == (LineOutcome.UNKNOWN_REFERENCE, None)
    assert judged.discrepancy is not None
    assert (judged.discrepancy.category, judged.discrepancy.amount_at_stake) == ("UNKNOWN_REFERENCE", 25_000)


def test_a_voucher_claimed_by_another_vendor_is_an_unknown_reference_and_stays_awaiting_its_own() -> None:
    redeemed = voucher("1" * 16, vendor="V-1")

    result = reconcile_redemptions([redeemed], [line("1" * 16, vendor="V-2")], [])

    judged = result.lines[0]
    assert (judged.outcome, judged.voucher_id) == (LineOutcome.UNKNOWN_REFERENCE, redeemed.voucher_id)
    assert judged.discrepancy is not None
    assert "redeemed by vendor V-1" in judged.discrepancy.suggested_action
    assert result.vouchers[0].outcome is InstructionOutcome.CONFIRMED_UNSETTLED


def test_a_redeemed_voucher_absent_from_a_report_covering_its_day_is_missing() -> None:
    covering = Coverage("V-1", date(2026, 4, 1), date(2026, 4, 30))

    result = reconcile_redemptions([voucher("1" * 16)], [], [covering])

    judged = result.vouchers[0]
    assert judged.outcome is InstructionOutcome.MISSING_FROM_SETTLEMENT
    assert judged.discrepancy is not None
    assert (judged.discrepancy.amount_at_stake, judged.discrepancy.severity) == (30_000, Severity.WARNING)


def test_a_redeemed_voucher_no_report_of_its_vendor_covers_is_awaited_without_discrepancy() -> None:
    elsewhere = [
        Coverage("V-2", date(2026, 4, 1), date(2026, 4, 30)),
        Coverage("V-1", date(2026, 3, 1), date(2026, 4, 1)),
    ]

    result = reconcile_redemptions([voucher("1" * 16)], [], elsewhere)

    assert [(item.outcome, item.discrepancy) for item in result.vouchers] == [
        (InstructionOutcome.CONFIRMED_UNSETTLED, None)
    ]
