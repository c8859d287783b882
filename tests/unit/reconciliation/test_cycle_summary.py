"""The cycle summary: one definition of each category, buckets that add up to what was planned."""

from __future__ import annotations

import dataclasses
from datetime import date

from reconciliation.domain.matching import Expectation, InstructionOutcome, PaymentState, reconcile
from reconciliation.domain.summary import Category, Group, Tally, categories_of, summarise, summarise_groups
from reconciliation.statements.lines import Direction, LineKind, LineStatus, StatementFormat, StatementLine

DAY = date(2025, 3, 14)
BASE = Expectation(
    instruction_id="",
    provider="orange_money",
    payee="",
    amount=30_000,
    state=PaymentState.SUBMITTED,
    instructed_on=DAY,
    programme="PFS",
    region="Sikasso",
    commune="Sikasso",
    modality="mobile_money",
)
PAYMENT = StatementLine(
    source=StatementFormat.OPERATOR_CSV,
    line_id="",
    booking_date=DAY,
    value_date=DAY,
    direction=Direction.DEBIT,
    amount=30_000,
    currency="XOF",
    kind=LineKind.PAYMENT,
    status=LineStatus.BOOKED,
    raw_status="Succès",
)


def _cycle() -> tuple[list[Expectation], list[StatementLine]]:
    expectations = [
        dataclasses.replace(BASE, instruction_id="A", state=PaymentState.SUCCEEDED),  # settled
        dataclasses.replace(BASE, instruction_id="B", state=PaymentState.FAILED),  # failed
        dataclasses.replace(
            BASE, instruction_id="C", state=PaymentState.CANCELLED, region="Kayes"
        ),  # cancelled
        dataclasses.replace(BASE, instruction_id="D", state=PaymentState.SUBMITTED),  # amount mismatch
        dataclasses.replace(
            BASE, instruction_id="E", state=PaymentState.PLANNED, provider="wave"
        ),  # awaiting
        dataclasses.replace(BASE, instruction_id="F", state=PaymentState.SUCCEEDED),  # returned
    ]
    lines = [
        PAYMENT._replace(line_id="1", our_ref="A"),
        PAYMENT._replace(line_id="2", our_ref="D", amount=25_000),
        PAYMENT._replace(line_id="3", our_ref="F"),
        PAYMENT._replace(line_id="4", our_ref="F", direction=Direction.CREDIT, kind=LineKind.RETURN),
        PAYMENT._replace(line_id="5", our_ref="ZZZ", amount=7_000),
    ]
    return expectations, lines


def test_each_expectation_falls_in_exactly_one_outcome_bucket() -> None:
    expectations, lines = _cycle()
    result = reconcile(expectations, lines)
    assert [categories_of(item) for item in result.instructions] == [
        (Category.PLANNED, Category.INSTRUCTED, Category.CONFIRMED, Category.SETTLED),
        (Category.PLANNED, Category.INSTRUCTED, Category.FAILED),
        (Category.PLANNED, Category.CANCELLED),
        (Category.PLANNED, Category.INSTRUCTED, Category.UNMATCHED),
        (Category.PLANNED, Category.AWAITING),
        (Category.PLANNED, Category.INSTRUCTED, Category.CONFIRMED, Category.REVERSED),
    ]


def test_the_buckets_add_up_to_what_was_planned() -> None:
    expectations, lines = _cycle()
    result = reconcile(expectations, lines)
    summary = summarise(result.instructions, result.lines)
    total = summary.total
    buckets = (
        Category.SETTLED,
        Category.FAILED,
        Category.CANCELLED,
        Category.REVERSED,
        Category.UNMATCHED,
        Category.AWAITING,
    )
    assert sum(total[bucket].count for bucket in buckets) == total[Category.PLANNED].count == 6
    assert sum(total[bucket].amount for bucket in buckets) == total[Category.PLANNED].amount == 180_000
    assert total[Category.INSTRUCTED] == Tally(count=4, amount=120_000, settled_amount=55_000)
    assert total[Category.UNMATCHED] == Tally(count=1, amount=30_000, settled_amount=25_000)
    assert total[Category.REVERSED] == Tally(count=1, amount=30_000, settled_amount=0)


def test_the_summary_breaks_down_by_region_and_provider_and_tallies_unexplained_lines() -> None:
    expectations, lines = _cycle()
    result = reconcile(expectations, lines)
    summary = summarise(result.instructions, result.lines)
    assert summary.by_region["Kayes"][Category.CANCELLED].count == 1
    assert summary.by_region["Sikasso"][Category.PLANNED].count == 5
    assert summary.by_provider["wave"][Category.AWAITING].count == 1
    assert summary.by_programme["PFS"][Category.SETTLED].settled_amount == 30_000
    assert summary.unexplained_debits == Tally(count=1, amount=7_000, settled_amount=7_000)
    assert summary.unexplained_credits == Tally()


def test_the_outcome_vocabulary_has_a_bucket_for_every_outcome() -> None:
    from reconciliation.domain.summary import OUTCOME_BUCKETS

    assert set(OUTCOME_BUCKETS) == set(InstructionOutcome)


def test_expectations_counted_in_groups_summarise_as_they_do_one_by_one() -> None:
    expectations, lines = _cycle()
    result = reconcile(expectations, lines)
    groups = [
        Group(
            programme=item.expectation.programme,
            region=item.expectation.region,
            commune=item.expectation.commune,
            provider=item.expectation.provider,
            modality=item.expectation.modality,
            state=item.expectation.state,
            outcome=item.outcome,
            count=1,
            amount=item.expectation.amount,
            settled_amount=item.settled_amount,
        )
        for item in result.instructions
    ]
    assert summarise_groups(groups) == summarise(result.instructions)


def test_a_conflicting_status_reported_by_the_provider_makes_a_status_conflict() -> None:
    claimed = dataclasses.replace(
        BASE, instruction_id="A", state=PaymentState.SUCCEEDED, reported_status="FAILED"
    )
    [result] = reconcile([claimed], [PAYMENT._replace(our_ref="A")]).instructions
    assert result.outcome is InstructionOutcome.STATUS_CONFLICT
    assert result.discrepancy is not None
    assert result.discrepancy.amount_at_stake == claimed.amount
