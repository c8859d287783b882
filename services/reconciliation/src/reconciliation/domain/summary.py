"""Per-cycle reconciliation summary: the single definition of planned, instructed, confirmed, settled….

Every expectation counts in `planned`; in `instructed` once released to a provider (any state but
planned or cancelled); in `confirmed` once the provider said it was paid (succeeded, or reversed after
succeeding); and in exactly one of the six outcome buckets below, so that those six add up to
`planned`, in count and in amount:

| bucket    | reconciliation outcome                                                        |
|-----------|-------------------------------------------------------------------------------|
| settled   | MATCHED                                                                       |
| failed    | NO_MONEY_MOVED, unless the payment was cancelled                              |
| cancelled | NO_MONEY_MOVED of a cancelled payment                                         |
| reversed  | RETURNED, REVERSED                                                            |
| unmatched | AMOUNT_MISMATCH, DUPLICATE_SETTLEMENT, MISSING_FROM_SETTLEMENT, STATUS_CONFLICT |
| awaiting  | CONFIRMED_UNSETTLED, AWAITING_PROVIDER                                        |

`amount` is always the instructed amount (so buckets add up); `settled_amount` is what the statements
show actually left for those payments (payments less returns and reversals). Statement lines that
matched nothing belong to no programme or region: they are tallied apart, as unexplained.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from reconciliation.domain.matching import (
    CONFIRMED,
    Expectation,
    InstructionOutcome,
    LineOutcome,
    LineResult,
    PaymentState,
)
from reconciliation.statements.lines import Direction


class Category(StrEnum):
    PLANNED = "planned"
    INSTRUCTED = "instructed"
    CONFIRMED = "confirmed"
    SETTLED = "settled"
    FAILED = "failed"
    CANCELLED = "cancelled"
    REVERSED = "reversed"
    UNMATCHED = "unmatched"
    AWAITING = "awaiting"


OUTCOME_BUCKETS: dict[InstructionOutcome, Category] = {
    InstructionOutcome.MATCHED: Category.SETTLED,
    InstructionOutcome.NO_MONEY_MOVED: Category.FAILED,
    InstructionOutcome.RETURNED: Category.REVERSED,
    InstructionOutcome.REVERSED: Category.REVERSED,
    InstructionOutcome.AMOUNT_MISMATCH: Category.UNMATCHED,
    InstructionOutcome.DUPLICATE_SETTLEMENT: Category.UNMATCHED,
    InstructionOutcome.MISSING_FROM_SETTLEMENT: Category.UNMATCHED,
    InstructionOutcome.STATUS_CONFLICT: Category.UNMATCHED,
    InstructionOutcome.CONFIRMED_UNSETTLED: Category.AWAITING,
    InstructionOutcome.AWAITING_PROVIDER: Category.AWAITING,
}
NOT_RELEASED = frozenset({PaymentState.PLANNED, PaymentState.CANCELLED})
UNEXPLAINED = frozenset({LineOutcome.UNKNOWN_REFERENCE, LineOutcome.UNMATCHED_CREDIT})


class Reconciled(Protocol):
    """An expectation with its outcome: a matching result, or a row the service reads back from its tables."""

    @property
    def expectation(self) -> Expectation: ...

    @property
    def outcome(self) -> InstructionOutcome: ...

    @property
    def settled_amount(self) -> int: ...


@dataclass(slots=True)
class Tally:
    count: int = 0
    amount: int = 0
    settled_amount: int = 0

    def add(self, amount: int, settled_amount: int, count: int = 1) -> None:
        """Count `count` expectations whose amounts add up to `amount` and `settled_amount`."""
        self.count += count
        self.amount += amount
        self.settled_amount += settled_amount


@dataclass(slots=True)
class Funnel:
    tallies: dict[Category, Tally] = field(
        default_factory=lambda: {category: Tally() for category in Category}
    )

    def __getitem__(self, category: Category) -> Tally:
        return self.tallies[category]

    def add(self, categories: tuple[Category, ...], amount: int, settled_amount: int, count: int = 1) -> None:
        for category in categories:
            self.tallies[category].add(amount, settled_amount, count)


@dataclass(slots=True)
class CycleSummary:
    total: Funnel = field(default_factory=Funnel)
    by_programme: dict[str, Funnel] = field(default_factory=dict)
    by_region: dict[str, Funnel] = field(default_factory=dict)
    by_commune: dict[str, Funnel] = field(default_factory=dict)
    by_provider: dict[str, Funnel] = field(default_factory=dict)
    by_modality: dict[str, Funnel] = field(default_factory=dict)
    unexplained_debits: Tally = field(default_factory=Tally)
    unexplained_credits: Tally = field(default_factory=Tally)


@dataclass(frozen=True, slots=True)
class Group:
    """Expectations alike in every key of the summary, counted together (a SQL `GROUP BY` row).

    `amount` and `settled_amount` are their sums: a cycle's summary is read from a few hundred
    groups instead of every expectation, with the same definitions.
    """

    programme: str
    region: str
    commune: str
    provider: str
    modality: str
    state: PaymentState
    outcome: InstructionOutcome
    count: int
    amount: int
    settled_amount: int


def categories_of(record: Reconciled) -> tuple[Category, ...]:
    """The categories one expectation counts in, by the definitions at the top of this module."""
    return categories_for(record.expectation.state, record.outcome)


def categories_for(state: PaymentState, outcome: InstructionOutcome) -> tuple[Category, ...]:
    """The categories of an expectation in this payment state with this reconciliation outcome."""
    bucket = OUTCOME_BUCKETS[outcome]
    if bucket is Category.FAILED and state is PaymentState.CANCELLED:
        bucket = Category.CANCELLED
    found = [Category.PLANNED]
    if state not in NOT_RELEASED:
        found.append(Category.INSTRUCTED)
    if state in CONFIRMED:
        found.append(Category.CONFIRMED)
    found.append(bucket)
    return tuple(found)


def summarise(records: Iterable[Reconciled], line_results: Iterable[LineResult] = ()) -> CycleSummary:
    """Aggregate a cycle's records (and the lines that matched nothing) into its summary."""
    summary = CycleSummary()
    for record in records:
        expectation = record.expectation
        _add(
            summary,
            (
                expectation.programme,
                expectation.region,
                expectation.commune,
                expectation.provider,
                expectation.modality,
            ),
            categories_of(record),
            expectation.amount,
            record.settled_amount,
            1,
        )
    for result in line_results:
        if result.outcome in UNEXPLAINED and result.line.booked:
            tally = (
                summary.unexplained_credits
                if result.line.direction is Direction.CREDIT
                else summary.unexplained_debits
            )
            tally.add(result.line.amount, result.line.amount)
    return summary


def summarise_groups(groups: Iterable[Group]) -> CycleSummary:
    """The same summary as `summarise`, from expectations already counted in groups."""
    summary = CycleSummary()
    for group in groups:
        _add(
            summary,
            (group.programme, group.region, group.commune, group.provider, group.modality),
            categories_for(group.state, group.outcome),
            group.amount,
            group.settled_amount,
            group.count,
        )
    return summary


def _add(
    summary: CycleSummary,
    keys: tuple[str, str, str, str, str],
    categories: tuple[Category, ...],
    amount: int,
    settled_amount: int,
    count: int,
) -> None:
    summary.total.add(categories, amount, settled_amount, count)
    programme, region, commune, provider, modality = keys
    for breakdown, key in (
        (summary.by_programme, programme),
        (summary.by_region, region),
        (summary.by_commune, commune),
        (summary.by_provider, provider),
        (summary.by_modality, modality),
    ):
        funnel = breakdown.get(key)
        if funnel is None:
            funnel = breakdown[key] = Funnel()
        funnel.add(categories, amount, settled_amount, count)
