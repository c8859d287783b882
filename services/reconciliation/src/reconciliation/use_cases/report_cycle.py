"""A cycle's reconciliation: the summary (the one source of every total) and the rows of its exports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from reconciliation.db.unit_of_work import ReconciliationUnitOfWork
from reconciliation.domain.summary import Category, CycleSummary, Funnel, categories_of, summarise_groups
from shared.errors import NotFound
from shared.events.contracts import CycleReconciled

BREAKDOWNS = ("programme", "region", "commune", "provider", "modality")
#: The outcome buckets: each expectation is in exactly one, and they add up to `planned`.
BUCKETS = (
    Category.SETTLED,
    Category.FAILED,
    Category.CANCELLED,
    Category.REVERSED,
    Category.UNMATCHED,
    Category.AWAITING,
)


@dataclass(frozen=True, slots=True)
class ReportRow:
    instruction_id: str
    programme: str
    region: str
    commune: str
    provider: str
    modality: str
    payee: str
    state: str
    outcome: str
    bucket: str
    amount: int
    settled_amount: int
    instructed_on: date
    confirmed_on: date | None


@dataclass(frozen=True, slots=True)
class CycleReport:
    summary: dict[str, Any]
    rows: list[ReportRow]
    discrepancies: list[dict[str, Any]]


def mask(payee: str) -> str:
    """A mobile number (or account) shown to auditors: only its last four characters."""
    if len(payee) <= 4:
        return payee
    return "*" * (len(payee) - 4) + payee[-4:]


def _funnel(funnel: Funnel) -> dict[str, dict[str, int]]:
    return {
        category.value: {"count": tally.count, "amount": tally.amount, "settled_amount": tally.settled_amount}
        for category, tally in funnel.tallies.items()
    }


def _summary_document(
    cycle_id: UUID,
    cycle: dict[str, Any] | None,
    summary: CycleSummary,
    vouchers: Any,
    payment_states: dict[str, int],
) -> dict[str, Any]:
    return {
        "cycle_id": str(cycle_id),
        "programme": cycle.get("programme_code") if cycle else None,
        "period": cycle.get("period") if cycle else None,
        "currency": "XOF",
        "total": _funnel(summary.total),
        "by_programme": {key: _funnel(value) for key, value in sorted(summary.by_programme.items())},
        "by_region": {key: _funnel(value) for key, value in sorted(summary.by_region.items())},
        "by_commune": {key: _funnel(value) for key, value in sorted(summary.by_commune.items())},
        "by_provider": {key: _funnel(value) for key, value in sorted(summary.by_provider.items())},
        "by_modality": {key: _funnel(value) for key, value in sorted(summary.by_modality.items())},
        "vouchers": vouchers,
        "payment_states": payment_states,
    }


def cycle_report(uow: ReconciliationUnitOfWork, *, cycle_id: UUID, masked: bool) -> CycleReport:
    """The summary, one row per instruction and the discrepancies of a cycle (404 if nothing is known of it)."""
    summary = cycle_summary(uow, cycle_id=cycle_id)
    records = uow.expectations.of_cycle(cycle_id)
    rows = []
    for record in records:
        expectation = record.expectation
        rows.append(
            ReportRow(
                instruction_id=expectation.instruction_id,
                programme=expectation.programme,
                region=expectation.region,
                commune=expectation.commune,
                provider=expectation.provider,
                modality=expectation.modality,
                payee=mask(expectation.payee) if masked else expectation.payee,
                state=expectation.state.value,
                outcome=record.outcome.value,
                bucket=categories_of(record)[-1].value,
                amount=expectation.amount,
                settled_amount=record.settled_amount,
                instructed_on=expectation.instructed_on,
                confirmed_on=expectation.confirmed_on,
            )
        )
    return CycleReport(summary=summary, rows=rows, discrepancies=uow.discrepancies.of_cycle(cycle_id))


def cycle_summary(uow: ReconciliationUnitOfWork, *, cycle_id: UUID) -> dict[str, Any]:
    """The summary, counted in SQL by summary keys, state and outcome (404 if nothing is known of the cycle)."""
    groups = uow.expectations.groups_of_cycle(cycle_id)
    cycle = uow.cycles.get(cycle_id)
    if not groups and cycle is None:
        raise NotFound(f"no cycle {cycle_id} known here (yet)")
    # How many payments reconciliation knows in each state: once it has applied every event of a closed cycle,
    # the counts by state payments shows (`GET /v1/cycles/{id}` there), which is how a reader knows it has.
    payment_states: dict[str, int] = {}
    for group in groups:
        payment_states[group.state.value] = payment_states.get(group.state.value, 0) + group.count
    return _summary_document(
        cycle_id,
        cycle,
        summarise_groups(groups),
        uow.cycles.voucher_totals(cycle_id),
        dict(sorted(payment_states.items())),
    )


def announce_reconciled(uow: ReconciliationUnitOfWork, cycle_ids: set[UUID]) -> None:
    """Publish `cycle.reconciled` with its summary for each cycle, once per transaction, just before commit;
    or, in a unit of work that announces later, mark the cycles for `announce_changed`."""
    if uow.announce_after is not None:
        uow.cycles.mark_changed(cycle_ids)
        return
    uow.reconciled_cycles.update(cycle_ids)
    uow.before_commit("cycle.reconciled", lambda: _publish_reconciled(uow))


def announce_changed(uow: ReconciliationUnitOfWork) -> int:
    """Publish `cycle.reconciled` for the cycles marked changed at least `announce_after` seconds ago, with
    the summary they have now; returns how many."""
    cycle_ids = uow.cycles.take_changed(older_than_seconds=uow.announce_after or 0.0)
    uow.reconciled_cycles.update(cycle_ids)
    _publish_reconciled(uow)
    return len(cycle_ids)


def _publish_reconciled(uow: ReconciliationUnitOfWork) -> None:
    for cycle_id in sorted(uow.reconciled_cycles):
        uow.publish(
            CycleReconciled(cycle_id=cycle_id, summary=cycle_summary(uow, cycle_id=cycle_id)),
            subject=str(cycle_id),
        )
