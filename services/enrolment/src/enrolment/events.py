"""How the registry's rows become the event contracts other services read (households, enrolment batches)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter

from enrolment.domain.enrolments import Enrolment
from shared.events.contracts import (
    EnrolmentItem,
    EnrolmentsActivated,
    EnrolmentsChanged,
    EnrolmentsExited,
    EnrolmentsSuspended,
    EnrolmentStatus,
    HouseholdFacts,
)
from shared.unit_of_work import UnitOfWork

#: Items per batch event: bounded so one event stays a reasonable Kafka record.
BATCH = 1000

_BATCH_EVENT: dict[str, type[EnrolmentsChanged]] = {
    "active": EnrolmentsActivated,
    "suspended": EnrolmentsSuspended,
    "exited": EnrolmentsExited,
}


def facts_fields(row: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of `HouseholdFacts` taken from a stored household row."""
    return {
        "household_id": row["id"],
        "rsu_id": row["rsu_id"],
        "head_name": row["head_name"],
        "msisdn": row["msisdn"],
        "operator": row["operator"],
        "preferred_modality": row["preferred_modality"],
        "size": row["size"],
        "region": row["region"],
        "cercle": row["cercle"],
        "commune": row["commune"],
        "village": row["village"],
        "pmt_score": row["pmt_score"],
        "hea_category": row["hea_category"],
    }


def facts_of(row: Mapping[str, Any]) -> HouseholdFacts:
    """What other services may know of a stored household."""
    return HouseholdFacts(**facts_fields(row))


def chunks(items: Sequence[Any], size: int = BATCH) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def publish_enrolments(uow: UnitOfWork, enrolments: Sequence[Enrolment], *, at: datetime) -> None:
    """One batch event per programme and status, ≤ BATCH items each, keyed by the programme (kept in order)."""
    groups: dict[tuple[str, str], list[EnrolmentItem]] = {}
    for e in enrolments:
        groups.setdefault((e.programme_code, e.status), []).append(
            EnrolmentItem(
                enrolment_id=e.id,
                household_id=e.household_id,
                status=e.status,
                effective_at=at,
                reason=e.exit_reason if e.status == "exited" else None,
                shock=e.temporary.shock if e.temporary else None,
                ends_on=e.temporary.ends_on if e.temporary else None,
                max_cycles=e.temporary.max_cycles if e.temporary else None,
            )
        )
    _publish_groups(uow, groups)


def publish_moved(
    uow: UnitOfWork,
    rows: Iterable[Any],
    *,
    status: EnrolmentStatus,
    at: datetime,
    reason: str | None = None,
) -> None:
    """`publish_enrolments` for enrolments moved set-based to `status`: rows with `id`, `household_id`,
    `programme_code` and their temporary enrolment's `shock`, `ends_on`, `max_cycles`. `reason` is the exit
    reason (items carry it for exits only)."""
    reason = reason if status == "exited" else None
    groups: dict[tuple[str, str], list[EnrolmentItem]] = {}
    for row in rows:
        groups.setdefault((row.programme_code, status), []).append(
            EnrolmentItem(
                enrolment_id=row.id,
                household_id=row.household_id,
                status=status,
                effective_at=at,
                reason=reason,
                shock=row.shock,
                ends_on=row.ends_on,
                max_cycles=row.max_cycles,
            )
        )
    _publish_groups(uow, groups)


_ITEMS = TypeAdapter(list[EnrolmentItem])


def publish_batches(uow: UnitOfWork, batches: Iterable[tuple[str, str]], *, status: EnrolmentStatus) -> None:
    """Publish batch events whose items the database wrote as JSON arrays (one per event, ≤ BATCH items),
    validated against the contract in one pass each."""
    kind = _BATCH_EVENT.get(status, EnrolmentsChanged)
    for programme, items in batches:
        uow.publish(
            kind(programme_code=programme, status=status, items=_ITEMS.validate_json(items)),
            subject=programme,
        )


def _publish_groups(uow: UnitOfWork, groups: dict[tuple[str, str], list[EnrolmentItem]]) -> None:
    for (programme, status), items in groups.items():
        kind = _BATCH_EVENT.get(status, EnrolmentsChanged)
        for batch in chunks(items):
            uow.publish(kind(programme_code=programme, status=status, items=list(batch)), subject=programme)
