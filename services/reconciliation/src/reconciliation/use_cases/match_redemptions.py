"""Judge redeemed vouchers and vendors' reported lines again, for the codes a report or a redemption touches.

Run after a report is imported (its codes, and those its vendors redeemed on the days it covers) and
when payments announces a redemption (its code): a report that came before the redemption it lists is
matched once the redemption arrives.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from uuid import UUID

from reconciliation.db.unit_of_work import ReconciliationUnitOfWork
from reconciliation.domain.matching import Discrepancy
from reconciliation.domain.redemptions import reconcile_redemptions
from reconciliation.use_cases.rematch import record_discrepancies
from reconciliation.use_cases.report_cycle import announce_reconciled
from shared.events.contracts import DiscrepanciesFound, FoundDiscrepancy


@dataclass(slots=True)
class RedemptionsMatched:
    """The lines of `report` (if one was given) per outcome, and the discrepancies found for the first time."""

    line_outcomes: Counter[str] = field(default_factory=Counter)
    found: list[FoundDiscrepancy] = field(default_factory=list)


def match_redemptions(
    uow: ReconciliationUnitOfWork, *, codes: Collection[str], report_id: UUID | None = None
) -> RedemptionsMatched:
    """Judge every redeemed voucher under `codes` and every stored line naming them, with their vendors'
    coverage; store the outcomes, record discrepancies, publish `discrepancies.found` for new ones and
    `cycle.reconciled` for the cycles whose vouchers changed."""
    result = RedemptionsMatched()
    if not codes:
        return result
    vouchers = uow.redemptions.redeemed_vouchers(codes)
    before = {voucher.voucher_id: outcome for voucher, outcome in vouchers}
    lines = uow.redemptions.lines_naming(codes)
    coverage = uow.redemptions.coverage_of({voucher.vendor_id for voucher, _ in vouchers})
    judged = reconcile_redemptions([voucher for voucher, _ in vouchers], lines, coverage)
    uow.redemptions.save_line_outcomes(
        [
            (item.line.report_id, item.line.position, item.outcome.value, item.voucher_id)
            for item in judged.lines
        ]
    )
    changed = [item for item in judged.vouchers if before.get(item.voucher.voucher_id) != item.outcome.value]
    uow.redemptions.save_voucher_outcomes([(item.voucher.voucher_id, item.outcome.value) for item in changed])
    cycle_of = {item.voucher.voucher_id: item.voucher.cycle_id for item in judged.vouchers}
    subjects: dict[str, tuple[Discrepancy, tuple[object, ...]]] = {}
    known = [f"voucher:{item.voucher.voucher_id}" for item in judged.vouchers]
    for item in judged.vouchers:
        if item.discrepancy is not None:
            evidence = item.evidence
            subjects[f"voucher:{item.voucher.voucher_id}"] = (
                item.discrepancy,
                (
                    item.voucher.cycle_id,
                    item.voucher.instruction_id,
                    None,
                    None,
                    evidence.report_id if evidence else _covering_report(report_id, item.outcome.value),
                    evidence.position if evidence else None,
                ),
            )
    for line in judged.lines:
        subject = f"redemption:{line.line.report_id}:{line.line.position}"
        known.append(subject)
        if line.discrepancy is not None:
            cycle_id = cycle_of.get(line.voucher_id) if line.voucher_id else None
            subjects[subject] = (
                line.discrepancy,
                (cycle_id, None, None, None, line.line.report_id, line.line.position),
            )
    result.found = record_discrepancies(uow, subjects, known)
    if result.found:
        uow.publish(
            DiscrepanciesFound(items=result.found), subject=str(report_id or result.found[0].discrepancy_id)
        )
    if report_id is not None:
        result.line_outcomes = Counter(
            item.outcome.value for item in judged.lines if item.line.report_id == report_id
        )
    cycles = {item.voucher.cycle_id for item in changed}
    cycles.update(cycle_of[item.voucher_id] for item in judged.lines if item.voucher_id in cycle_of)
    if cycles:
        announce_reconciled(uow, cycles)
    return result


def _covering_report(report_id: UUID | None, outcome: str) -> UUID | None:
    """A voucher missing from its vendor's report is found by the report being imported, if it is one."""
    return report_id if outcome == "MISSING_FROM_SETTLEMENT" else None
