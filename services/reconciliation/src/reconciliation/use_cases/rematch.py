"""Judge expectations again against every stored line that refers to them, and keep the results.

Run after a statement import (its lines are `fresh`) and whenever expectations arrive or change state:
a statement that came before the payments events it settles is matched once they arrive.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from uuid import UUID, uuid4

from reconciliation.db.discrepancies import REPORT_COLUMNS
from reconciliation.db.expectations import Moved, StoredExpectation
from reconciliation.db.staging import StatementStaging
from reconciliation.db.statements import LineKey
from reconciliation.db.unit_of_work import ReconciliationUnitOfWork
from reconciliation.domain.matching import (
    UNSETTLED,
    Discrepancy,
    Expectation,
    LineResult,
    Reconciliation,
    Suggestions,
    funding_line,
    reconcile,
    reference_keys,
    unmatched_line,
)
from reconciliation.statements.lines import StatementFormat, StatementLine
from reconciliation.use_cases.report_cycle import announce_reconciled
from shared.events.contracts import DiscrepanciesFound, FoundDiscrepancy


@dataclass(slots=True)
class Rematch:
    """The fresh lines' results in their order, and the discrepancies this run found for the first time."""

    fresh: list[LineResult] = field(default_factory=list)
    found: list[FoundDiscrepancy] = field(default_factory=list)
    line_outcomes: Counter[str] = field(default_factory=Counter)


def rematch(
    uow: ReconciliationUnitOfWork,
    *,
    instruction_ids: Iterable[str] = (),
    providers: Iterable[str] = (),
    fresh: Sequence[StatementLine] = (),
    fresh_statement: UUID | None = None,
    moved: Mapping[str, Moved] | None = None,
) -> Rematch:
    """Re-run matching for the given expectations, those the fresh lines name, and the unsettled ones of
    `providers` (the only ones a statement that does not name them can change), with the fresh lines if any.

    `moved`: new states payments reported for some of `instruction_ids`, not stored yet: they are judged as if
    they were, and stored with the outcomes in one update.

    Fresh lines are not stored yet: the caller stores them with the results returned. Publishes
    `discrepancies.found` for the discrepancies seen for the first time, and `cycle.reconciled` before
    the transaction commits for every cycle whose outcomes changed.
    """
    related = uow.expectations.load_related(
        set(instruction_ids),
        {ref for line in fresh for ref in (line.our_ref, line.provider_ref) if ref},
        set(providers),
    )
    stored = {item.expectation.instruction_id: item for item in related}
    del related
    for instruction_id, news in (moved or {}).items():
        if instruction_id in stored:
            stored[instruction_id] = news.on(stored[instruction_id])
    old_lines = uow.statements.lines_referencing(
        reference_keys(item.expectation for item in stored.values()), excluding=fresh_statement
    )
    # a stored line may name another instruction first: bring that one in so the line keeps its match
    others = {
        ref for _, line in old_lines for ref in (line.our_ref, line.provider_ref) if ref
    } - reference_keys(item.expectation for item in stored.values())
    extra = set(uow.expectations.referenced_by(others)) - stored.keys()
    if extra:
        stored.update({item.expectation.instruction_id: item for item in uow.expectations.load(extra)})
        old_lines = uow.statements.lines_referencing(
            reference_keys(item.expectation for item in stored.values()), excluding=fresh_statement
        )
    if not stored and not fresh:
        return Rematch()
    keys: list[LineKey | None] = [key for key, _ in old_lines]
    lines = [line for _, line in old_lines]
    keys.extend([None] * len(fresh))
    lines.extend(fresh)
    result = reconcile(
        [item.expectation for item in stored.values()],
        lines,
        fundings=uow.accounts.fundings(),
        settled_through=uow.statements.settled_through(),
    )
    outcome = Rematch()
    old_results = [(key, line) for key, line in zip(keys, result.lines, strict=True) if key is not None]
    outcome.fresh = result.lines[len(old_lines) :]
    outcome.line_outcomes = Counter(line.outcome.value for line in outcome.fresh)
    uow.statements.save_line_outcomes(old_results)
    changed = [
        item
        for item in result.instructions
        if _changed(stored[item.expectation.instruction_id], item.outcome.value, item.settled_amount)
    ]
    if moved:
        judged = {
            item.expectation.instruction_id: (item.outcome.value, item.settled_amount) for item in changed
        }
        uow.expectations.save_judged(
            (
                stored[key].expectation,
                *judged.get(key, (stored[key].outcome.value, stored[key].settled_amount)),
            )
            for key in sorted(moved.keys() | judged.keys())
            if key in stored
        )
    else:
        uow.expectations.save_outcomes(
            (item.expectation.instruction_id, item.outcome.value, item.settled_amount) for item in changed
        )
    if changed:
        announce_reconciled(uow, {stored[item.expectation.instruction_id].cycle_id for item in changed})
    # (a fresh statement's lines are new subjects: none can hold an open discrepancy yet)
    known, subjects = _judged_subjects(result, old_results, stored)
    if fresh_statement is not None:
        for position, line_result in enumerate(outcome.fresh):
            if line_result.discrepancy is not None:
                subjects[f"line:{fresh_statement}:{position}"] = (
                    line_result.discrepancy,
                    (
                        _cycle_of(stored, line_result.reference),
                        line_result.reference,
                        fresh_statement,
                        position,
                    ),
                )
    outcome.found = record_discrepancies(uow, subjects, known)
    if outcome.found:
        uow.publish(
            DiscrepanciesFound(items=outcome.found),
            subject=str(fresh_statement or outcome.found[0].discrepancy_id),
        )
    return outcome


#: Expectations judged at a time, and unmatched lines read at a time, when matching a staged statement.
BATCH = 5_000


@dataclass(frozen=True, slots=True)
class StagedMatch:
    """A staged statement once matched and stored: its lines per outcome, the discrepancies found."""

    line_outcomes: dict[str, int]
    found: int


def match_staged(
    uow: ReconciliationUnitOfWork,
    staging: StatementStaging,
    *,
    statement_id: UUID,
    statement_format: StatementFormat,
    provider: str,
) -> StagedMatch:
    """`rematch` for a statement staged whole in `staging`, in memory bounded by `BATCH`, then its lines stored.

    Each staged line's target is found in SQL over every expectation and funding. The expectations to
    judge (those targeted, and the provider's still unsettled ones) are judged `BATCH` at a time, each
    with every line — stored or staged — that targets it, so `reconcile` sees exactly what it would see
    given everything at once. Lines naming no instruction are judged last, with the suggestions of every
    expectation left without a line.
    """
    staging.find_targets(provider, [outcome.value for outcome in UNSETTLED])
    fundings = {item.reference: item for item in uow.accounts.fundings()}
    settled_through = uow.statements.settled_through()
    unsettled: list[Expectation] = []
    cycles: set[UUID] = set()
    found = 0
    for batch in staging.judged_batches(BATCH):
        batch.sort(key=lambda item: item.expectation.instruction_id)
        stored = {item.expectation.instruction_id: item for item in batch}
        old_lines, fresh = staging.batch_lines(statement_format)
        result = reconcile(
            [item.expectation for item in batch],
            [*(line for _, line in old_lines), *fresh],
            fundings=fundings.values(),
            settled_through=settled_through,
        )
        old_results = [(key, line) for (key, _), line in zip(old_lines, result.lines, strict=False)]
        uow.statements.save_line_outcomes(old_results)
        changed = [
            item
            for item in result.instructions
            if _changed(stored[item.expectation.instruction_id], item.outcome.value, item.settled_amount)
        ]
        staging.add_outcomes(
            (item.expectation.instruction_id, item.outcome.value, item.settled_amount) for item in changed
        )
        cycles.update(stored[item.expectation.instruction_id].cycle_id for item in changed)
        unsettled.extend(item.expectation for item in result.instructions if not item.lines)
        known, subjects = _judged_subjects(result, old_results, stored)
        found += _publish(uow, statement_id, record_discrepancies(uow, subjects, known))
    suggestions = Suggestions(unsettled)
    for chunk in staging.unmatched_lines(statement_format, BATCH):
        rows = []
        subjects = {}
        for position, line, funding_reference in chunk:
            funding = fundings.get(funding_reference) if funding_reference is not None else None
            judged = funding_line(line, funding) if funding is not None else unmatched_line(line, suggestions)
            rows.append(
                (
                    position,
                    judged.outcome.value,
                    judged.reference,
                    judged.matched_by.value if judged.matched_by else None,
                    ",".join(judged.suggestions) or None,
                )
            )
            if judged.discrepancy is not None:
                subjects[f"line:{statement_id}:{position}"] = (
                    judged.discrepancy,
                    (None, judged.reference, statement_id, position),
                )
        staging.add_results(rows)
        found += _publish(uow, statement_id, record_discrepancies(uow, subjects, []))
    if cycles:
        announce_reconciled(uow, cycles)
    return StagedMatch(line_outcomes=staging.store(statement_id), found=found)


def _judged_subjects(
    result: Reconciliation,
    old_results: Sequence[tuple[LineKey, LineResult]],
    stored: dict[str, StoredExpectation],
) -> tuple[list[str], dict[str, tuple[Discrepancy, tuple[object, ...]]]]:
    """Every subject judged (each may hold an open discrepancy this run no longer finds), and those with one
    now, with what recording it needs (cycle, reference, statement, position)."""
    known = [f"instruction:{item.expectation.instruction_id}" for item in result.instructions]
    known.extend(f"line:{key[0]}:{key[1]}" for key, _ in old_results)
    subjects: dict[str, tuple[Discrepancy, tuple[object, ...]]] = {}
    for item in result.instructions:
        if item.discrepancy is not None:
            instruction_id = item.expectation.instruction_id
            subjects[f"instruction:{instruction_id}"] = (
                item.discrepancy,
                (stored[instruction_id].cycle_id, instruction_id, None, None),
            )
    for key, line_result in old_results:
        if line_result.discrepancy is not None:
            subjects[f"line:{key[0]}:{key[1]}"] = (
                line_result.discrepancy,
                (None, line_result.reference, key[0], key[1]),
            )
    return known, subjects


def _publish(uow: ReconciliationUnitOfWork, statement_id: UUID, found: list[FoundDiscrepancy]) -> int:
    """One `discrepancies.found` per batch, written to the outbox at once (still in the transaction) so
    that a large statement's discrepancies are not all held until commit."""
    if found:
        uow.publish(DiscrepanciesFound(items=found), subject=str(statement_id))
        uow.flush()
    return len(found)


def _changed(before: StoredExpectation, outcome: str, settled_amount: int) -> bool:
    """Whether the outcome to store differs (an expectation never judged is stored awaiting the provider, with
    nothing settled: judged so, it is left alone — most new instructions)."""
    return (before.outcome.value, before.settled_amount) != (outcome, settled_amount)


def _cycle_of(stored: dict[str, StoredExpectation], reference: str | None) -> UUID | None:
    item = stored.get(reference) if reference else None
    return item.cycle_id if item else None


def record_discrepancies(
    uow: ReconciliationUnitOfWork,
    subjects: dict[str, tuple[Discrepancy, tuple[object, ...]]],
    known: list[str],
) -> list[FoundDiscrepancy]:
    """Record `subjects`' discrepancies; supersede the open ones of `known` subjects no longer found.

    Each subject comes with where it was found: (cycle, instruction, statement, line position), and for a
    vendor's redemption report (report, line position) after those.
    """
    current = {subject: found.category for subject, (found, _) in subjects.items()}
    superseded = [
        (identifier, f"superseded: a later match no longer finds {category}")
        for identifier, subject, category in uow.discrepancies.open_of(known)
        if current.get(subject) != category
    ]
    uow.discrepancies.supersede(superseded)
    rows = []
    for subject, (found, where) in subjects.items():
        cycle_id, instruction_id, statement_id, position, *report = where
        report_id, report_position = report or (None, None)
        rows.append(
            (
                uuid4(),
                subject,
                found.category,
                cycle_id,
                instruction_id,
                statement_id,
                position,
                found.severity.value,
                found.amount_at_stake,
                found.suggested_action,
                "open",
                report_id,
                report_position,
            )
        )
    new = uow.discrepancies.add_new(rows, columns=REPORT_COLUMNS)
    return [
        FoundDiscrepancy(
            discrepancy_id=row[0],
            cycle_id=row[3],
            instruction_id=row[4],
            category=row[2],
            severity=row[7],
            amount_at_stake=row[8],
            suggested_action=row[9],
        )
        for row in rows
        if row[0] in new
    ]
