"""Three-way matching edge cases: one behaviour each, on small hand-made lines."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import pytest

from reconciliation.domain.matching import (
    Expectation,
    Funding,
    InstructionOutcome,
    LineOutcome,
    MatchedBy,
    PaymentState,
    Severity,
    reconcile,
    reference_keys,
)
from reconciliation.statements.lines import Direction, LineKind, LineStatus, StatementFormat, StatementLine

DAY = date(2025, 3, 14)


EXPECTATION = Expectation(
    instruction_id="PMT25Q1-000001",
    provider="orange_money",
    payee="+22376550001",
    amount=30_000,
    state=PaymentState.SUCCEEDED,
    instructed_on=DAY,
    confirmed_on=DAY,
)
LINE = StatementLine(
    source=StatementFormat.OPERATOR_CSV,
    line_id="1",
    booking_date=DAY,
    value_date=DAY,
    direction=Direction.DEBIT,
    amount=30_000,
    currency="XOF",
    kind=LineKind.PAYMENT,
    status=LineStatus.BOOKED,
    raw_status="Succès",
    our_ref="PMT25Q1-000001",
)


def _expectation(number: int = 1, **changes: Any) -> Expectation:
    return dataclasses.replace(
        EXPECTATION, instruction_id=f"PMT25Q1-{number:06d}", payee=f"+2237655{number:04d}", **changes
    )


def _line(our_ref: str | None = "PMT25Q1-000001", **changes: Any) -> StatementLine:
    return LINE._replace(our_ref=our_ref, **changes)


def test_a_confirmed_payment_settled_for_its_amount_is_matched() -> None:
    result = reconcile([_expectation()], [_line()])
    [instruction] = result.instructions
    assert (instruction.outcome, instruction.settled_amount, instruction.discrepancy) == (
        InstructionOutcome.MATCHED,
        30_000,
        None,
    )
    assert (result.lines[0].outcome, result.lines[0].matched_by) == (LineOutcome.MATCHED, MatchedBy.OUR_REF)


def test_a_settled_amount_differing_by_one_franc_is_an_amount_mismatch() -> None:
    [instruction] = reconcile([_expectation()], [_line(amount=29_999)]).instructions
    assert instruction.outcome is InstructionOutcome.AMOUNT_MISMATCH
    assert instruction.discrepancy is not None
    assert (instruction.discrepancy.severity, instruction.discrepancy.amount_at_stake) == (
        Severity.CRITICAL,
        1,
    )


def test_a_confirmation_for_another_amount_is_an_amount_mismatch_too() -> None:
    [instruction] = reconcile([_expectation(confirmed_amount=25_000)], [_line(amount=30_000)]).instructions
    assert instruction.outcome is InstructionOutcome.AMOUNT_MISMATCH


def test_two_bookings_for_one_instruction_are_a_duplicate_settlement() -> None:
    lines = [_line(provider_ref="B1", line_id="1"), _line(provider_ref="B2", line_id="2")]
    [instruction] = reconcile([_expectation()], lines).instructions
    assert instruction.outcome is InstructionOutcome.DUPLICATE_SETTLEMENT
    assert instruction.discrepancy is not None
    assert instruction.discrepancy.amount_at_stake == 30_000
    assert instruction.settled_amount == 60_000


def test_the_same_booking_reported_by_two_statements_is_not_a_duplicate() -> None:
    lines = [_line(provider_ref="B1", line_id="1"), _line(provider_ref="B1", line_id="7")]
    [instruction] = reconcile([_expectation()], lines).instructions
    assert instruction.outcome is InstructionOutcome.MATCHED


def test_a_return_after_the_payment_makes_the_instruction_returned() -> None:
    returned = _line(direction=Direction.CREDIT, kind=LineKind.RETURN, return_reason="AC04", line_id="2")
    result = reconcile([_expectation()], [_line(), returned])
    [instruction] = result.instructions
    assert (instruction.outcome, instruction.settled_amount) == (InstructionOutcome.RETURNED, 0)
    assert result.lines[1].outcome is LineOutcome.RETURN


def test_a_reversal_after_the_payment_makes_the_instruction_reversed() -> None:
    reversal = _line(direction=Direction.CREDIT, kind=LineKind.REVERSAL, line_id="2")
    result = reconcile([_expectation()], [_line(), reversal])
    assert result.instructions[0].outcome is InstructionOutcome.REVERSED
    assert result.lines[1].outcome is LineOutcome.REVERSAL


def test_a_debit_under_a_reference_we_never_issued_is_an_unknown_reference() -> None:
    [line] = reconcile([_expectation()], [_line("PMT25Q1-999999")]).lines
    assert line.outcome is LineOutcome.UNKNOWN_REFERENCE
    assert line.discrepancy is not None
    assert (line.discrepancy.severity, line.discrepancy.amount_at_stake) == (Severity.CRITICAL, 30_000)


def test_a_credit_under_an_unknown_reference_is_an_unmatched_credit() -> None:
    [line] = reconcile([], [_line("TRS-1", direction=Direction.CREDIT, kind=LineKind.FUNDING)]).lines
    assert line.outcome is LineOutcome.UNMATCHED_CREDIT


def test_a_line_without_our_reference_matches_by_the_provider_reference() -> None:
    result = reconcile(
        [_expectation(provider_tx_ref="MP250314.0900.C12401")],
        [_line(None, provider_ref="MP250314.0900.C12401")],
    )
    assert (result.lines[0].outcome, result.lines[0].matched_by) == (
        LineOutcome.MATCHED,
        MatchedBy.PROVIDER_REF,
    )
    assert result.instructions[0].outcome is InstructionOutcome.MATCHED


def test_payee_amount_and_date_only_suggest_and_never_match() -> None:
    line = _line("SOMETHING-ELSE", counterparty_msisdn="+22376550001", booking_date=date(2025, 3, 16))
    result = reconcile([_expectation(state=PaymentState.SUBMITTED, confirmed_on=None)], [line])
    assert result.lines[0].outcome is LineOutcome.UNKNOWN_REFERENCE
    assert result.lines[0].suggestions == ("PMT25Q1-000001",)
    assert result.instructions[0].outcome is InstructionOutcome.AWAITING_PROVIDER


def test_no_suggestion_beyond_two_days() -> None:
    line = _line("SOMETHING-ELSE", counterparty_msisdn="+22376550001", booking_date=date(2025, 3, 17))
    assert reconcile([_expectation()], [line]).lines[0].suggestions == ()


def test_a_statement_that_arrives_first_matches_when_the_expectation_arrives() -> None:
    line = _line("PMT25Q1-000002")
    first = reconcile([_expectation(1)], [_line(), line])
    assert first.lines[1].outcome is LineOutcome.UNKNOWN_REFERENCE
    late = _expectation(2)
    stored_unmatched = [result.line for result in first.lines if result.reference is None]
    rerun = reconcile([late], stored_unmatched)
    assert [(result.line.line_id, result.outcome) for result in rerun.lines] == [("1", LineOutcome.MATCHED)]
    assert rerun.instructions[0].outcome is InstructionOutcome.MATCHED
    assert reference_keys([late]) == {"PMT25Q1-000002"}


def test_a_confirmed_payment_not_yet_covered_by_a_statement_is_confirmed_unsettled() -> None:
    [instruction] = reconcile(
        [_expectation()], [], settled_through={"orange_money": date(2025, 3, 13)}
    ).instructions
    assert (instruction.outcome, instruction.discrepancy) == (InstructionOutcome.CONFIRMED_UNSETTLED, None)


def test_a_confirmed_payment_absent_from_a_statement_covering_it_is_missing() -> None:
    [instruction] = reconcile([_expectation()], [], settled_through={"orange_money": DAY}).instructions
    assert instruction.outcome is InstructionOutcome.MISSING_FROM_SETTLEMENT
    assert instruction.discrepancy is not None
    assert instruction.discrepancy.severity is Severity.CRITICAL


def test_money_leaving_for_a_payment_recorded_as_failed_is_a_status_conflict() -> None:
    [instruction] = reconcile([_expectation(state=PaymentState.FAILED)], [_line()]).instructions
    assert instruction.outcome is InstructionOutcome.STATUS_CONFLICT


def test_a_failed_row_for_a_confirmed_payment_is_a_status_conflict() -> None:
    failed = _line(status=LineStatus.FAILED, raw_status="Echec")
    [instruction] = reconcile([_expectation()], [failed]).instructions
    assert instruction.outcome is InstructionOutcome.STATUS_CONFLICT


@pytest.mark.parametrize("state", [PaymentState.FAILED, PaymentState.REJECTED, PaymentState.CANCELLED])
def test_a_payment_that_never_left_and_is_absent_moved_no_money(state: PaymentState) -> None:
    [instruction] = reconcile(
        [_expectation(state=state)], [], settled_through={"orange_money": DAY}
    ).instructions
    assert (instruction.outcome, instruction.discrepancy) == (InstructionOutcome.NO_MONEY_MOVED, None)


def test_a_funding_for_another_amount_is_flagged_on_its_line() -> None:
    line = _line("BAT25Q1-OM01", amount=230_000)
    [result] = reconcile([], [line], fundings=[Funding("BAT25Q1-OM01", 240_000)]).lines
    assert result.outcome is LineOutcome.FUNDING_MATCHED
    assert result.discrepancy is not None
    assert result.discrepancy.amount_at_stake == 10_000


def test_an_instruction_expected_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="expected twice"):
        reconcile([_expectation(), _expectation()], [])
