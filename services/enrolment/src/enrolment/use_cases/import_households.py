"""Import households from a file, chunk by chunk: register the new ones, report every row, propose duplicates.

The caller (the import runner) opens a unit of work per chunk, or one for the whole file in strict mode,
and commits; these functions never commit. Rows whose RSU id is already registered change nothing, so
importing a file again registers nothing twice.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from enrolment.db.unit_of_work import EnrolmentUnitOfWork
from enrolment.domain.deduplication import DuplicateIndex
from enrolment.domain.households import FieldError, Household
from enrolment.domain.imports import Row
from enrolment.events import facts_fields
from enrolment.use_cases.register_household import index_entry
from shared.events.contracts import HouseholdFacts, HouseholdsRegistered


@dataclass
class ImportState:
    """What an import keeps from one chunk to the next: the duplicate index and the registered RSU ids."""

    index: DuplicateIndex[uuid.UUID]
    registered: dict[str, uuid.UUID]


@dataclass
class ChunkOutcome:
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    #: Report rows of refused rows (kept apart: in strict mode they outlive the rolled-back data).
    refused: list[dict[str, Any]] = field(default_factory=list)


def load_import_state(uow: EnrolmentUnitOfWork) -> ImportState:
    """Index every registered household and the pairs reviewers dismissed."""
    index: DuplicateIndex[uuid.UUID] = DuplicateIndex()
    registered: dict[str, uuid.UUID] = {}
    for row in uow.households.index_keys():
        index.load(row.id, index_entry(row))
    registered = uow.households.all_rsu_ids()
    for first, second in uow.duplicates.dismissed_pairs():
        index.dismiss(first, second)
    return ImportState(index, registered)


def _refusal(import_id: uuid.UUID, row_number: int, errors: Sequence[FieldError]) -> dict[str, Any]:
    return {
        "import_id": import_id,
        "row_number": row_number,
        "outcome": "rejected",
        "rsu_id": None,
        "household_id": None,
        "field": ", ".join(dict.fromkeys(error.field for error in errors)),
        "reason": "; ".join(
            error.reason if len(errors) == 1 else f"{error.field}: {error.reason}" for error in errors
        ),
        "duplicate_of": None,
    }


def _report(
    import_id: uuid.UUID,
    row_number: int,
    outcome: str,
    household: Household,
    household_id: uuid.UUID | None,
    reason: str | None = None,
    duplicate_of: uuid.UUID | None = None,
) -> dict[str, Any]:
    return {
        "import_id": import_id,
        "row_number": row_number,
        "outcome": outcome,
        "rsu_id": household.rsu_id,
        "household_id": household_id,
        "field": "rsu_id" if outcome == "duplicate" and household_id is None else None,
        "reason": reason,
        "duplicate_of": duplicate_of,
    }


def _household_row(household_id: uuid.UUID, household: Household, import_id: uuid.UUID) -> dict[str, Any]:
    return {
        "id": household_id,
        "rsu_id": household.rsu_id,
        "head_name": household.head_name,
        "head_sex": household.head_sex,
        "head_birth_year": household.head_birth_year,
        "nina": household.nina,
        "size": household.size,
        "region": household.region,
        "cercle": household.cercle,
        "commune": household.commune,
        "village": household.village,
        "msisdn": household.msisdn,
        "operator": household.operator,
        "preferred_modality": household.preferred_modality,
        "pmt_score": household.pmt_score,
        "hea_category": household.hea_category,
        "programme_ids": json.dumps(household.programme_ids),  # COPY reads jsonb from its text
        "import_id": import_id,
    }


@dataclass
class ChunkPlan:
    """What one chunk will write, worked out without the database (so it can overlap the previous write)."""

    import_id: uuid.UUID
    households: list[dict[str, Any]] = field(default_factory=list)
    report: list[dict[str, Any]] = field(default_factory=list)
    candidates: list[dict[str, Any]] = field(default_factory=list)
    outcome: ChunkOutcome = field(default_factory=ChunkOutcome)
    rows: int = 0


def plan_chunk(*, import_id: uuid.UUID, rows: Sequence[Row], state: ImportState) -> ChunkPlan:
    """Sort one chunk's rows into new households, already registered ones and refusals; index the new ones."""
    plan = ChunkPlan(import_id, rows=len(rows))
    for row_number, parsed in rows:
        if isinstance(parsed, list):
            plan.outcome.refused.append(_refusal(import_id, row_number, parsed))
            continue
        known = state.registered.get(parsed.rsu_id)
        if known is not None:
            plan.report.append(
                _report(import_id, row_number, "duplicate", parsed, None, "RSU id already registered", known)
            )
            continue
        household_id = uuid.uuid4()
        state.registered[parsed.rsu_id] = household_id
        plan.households.append(_household_row(household_id, parsed, import_id))
        found = state.index.add(household_id, parsed)
        if not found:
            plan.report.append(_report(import_id, row_number, "accepted", parsed, household_id))
            continue
        best = found[0]
        reason = f"possible duplicate ({best.reason.replace('_', ' ')}, score {best.score})"
        plan.report.append(_report(import_id, row_number, "duplicate", parsed, household_id, reason, best.of))
        plan.candidates += (
            {"household_id": household_id, "duplicate_of": d.of, "reason": d.reason, "score": d.score}
            for d in found
        )
    return plan


def write_chunk(uow: EnrolmentUnitOfWork, plan: ChunkPlan, *, state: ImportState) -> ChunkOutcome:
    """Write a planned chunk: households, report, duplicate candidates, one `households.registered` event."""
    written = uow.households.add_many(plan.households)
    if len(written) < len(plan.households):  # registered meanwhile by another writer (POST /v1/households)
        _registered_meanwhile(uow, plan, written, state)
    uow.duplicates.propose([{**c, "import_id": plan.import_id} for c in plan.candidates])
    uow.imports.report(plan.report)
    outcome = plan.outcome
    outcome.accepted = sum(1 for r in plan.report if r["outcome"] == "accepted")
    outcome.duplicates = len(plan.report) - outcome.accepted
    outcome.rejected = len(outcome.refused)
    if written:
        # The values come from households the domain validated: building the facts without validating
        # them again saves a fifth of an import's Python time (consumers validate what they read).
        items = [HouseholdFacts.model_construct(**facts_fields(row)) for row in plan.households]
        uow.publish(HouseholdsRegistered(import_id=plan.import_id, items=items), subject=str(plan.import_id))
    return outcome


def _registered_meanwhile(
    uow: EnrolmentUnitOfWork, plan: ChunkPlan, written: set[uuid.UUID], state: ImportState
) -> None:
    """Report the rows another writer registered first as such; drop what referred to them."""
    lost = {row["id"]: row["rsu_id"] for row in plan.households if row["id"] not in written}
    taken = uow.households.ids_by_rsu_id(lost.values())
    state.registered.update(taken)
    plan.households = [row for row in plan.households if row["id"] in written]
    plan.candidates = [
        c for c in plan.candidates if c["household_id"] not in lost and c["duplicate_of"] not in lost
    ]
    for row in plan.report:
        if row["household_id"] in lost:
            row.update(
                outcome="duplicate",
                household_id=None,
                field="rsu_id",
                reason="RSU id already registered",
                duplicate_of=taken.get(lost[row["household_id"]]),
            )


def import_chunk(
    uow: EnrolmentUnitOfWork, *, import_id: uuid.UUID, rows: Sequence[Row], state: ImportState
) -> ChunkOutcome:
    """Plan and write one chunk of parsed rows (≤ 1000, so one `households.registered` event)."""
    return write_chunk(uow, plan_chunk(import_id=import_id, rows=rows, state=state), state=state)
