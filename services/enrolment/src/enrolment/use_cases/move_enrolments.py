"""Move enrolments through their lifecycle (target, validate, activate, suspend, exit), one or many at once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from enrolment.db.unit_of_work import EnrolmentUnitOfWork
from enrolment.domain.enrolments import CommunityValidation, Enrolment, MoveForMany
from enrolment.events import BATCH, publish_batches, publish_enrolments
from shared.audit import record_action
from shared.auth import Principal
from shared.errors import InvalidInput, NotFound

Action = Literal["target", "validate", "activate", "suspend", "exit"]


@dataclass(frozen=True)
class Move:
    """One move as an operator asks for it."""

    action: Action
    at: datetime
    by: str
    reason: str | None = None
    validation: CommunityValidation | None = None

    def apply(self, enrolment: Enrolment) -> None:
        """Raises Conflict (with the allowed moves) when the enrolment's status does not allow it."""
        if self.action == "target":
            enrolment.target(at=self.at, by=self.by)
        elif self.action == "validate":
            assert self.validation is not None
            enrolment.validate(self.validation, by=self.by)
        elif self.action == "activate":
            enrolment.activate(at=self.at, by=self.by)
        elif self.action == "suspend":
            enrolment.suspend(at=self.at, by=self.by, reason=self.reason or "")
        else:
            enrolment.exit(at=self.at, by=self.by, reason=self.reason or "")


@dataclass
class Moved:
    moved: int = 0
    refused: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Selection:
    """Which enrolments a bulk move is for: a list of ids, or a programme with a status and a place."""

    enrolment_ids: Sequence[UUID] | None = None
    programme: str | None = None
    status: str | None = None
    region: str | None = None
    cercle: str | None = None
    commune: str | None = None


def move_enrolment(
    uow: EnrolmentUnitOfWork, *, enrolment_id: UUID, move: Move, actor: Principal
) -> Enrolment:
    enrolment = uow.enrolments.get(enrolment_id, lock=True)
    if enrolment is None:
        raise NotFound(f"no enrolment {enrolment_id}")
    before = enrolment.status
    move.apply(enrolment)
    uow.enrolments.save([enrolment])
    publish_enrolments(uow, [enrolment], at=move.at)
    record_action(
        uow,
        actor=actor,
        action=f"enrolment.{move.action}",
        subject=f"enrolment/{enrolment_id}",
        before={"status": before},
        after={"status": enrolment.status, "reason": move.reason},
    )
    return enrolment


def move_enrolments(
    uow: EnrolmentUnitOfWork, *, selection: Selection, move: Move, actor: Principal, subject: str
) -> Moved:
    """The same move for each enrolment selected; those whose status does not allow it are refused (with the
    moves they allow), the others move, set-based: state, history, batch events and one audit record.

    Raises InvalidInput naming the ids given that are not enrolments (nothing moves then).
    """
    change = MoveForMany.of(move.apply)
    if selection.enrolment_ids is not None:
        unknown = uow.enrolments.unknown(selection.enrolment_ids)
        if unknown:
            raise InvalidInput("unknown enrolments", details={"unknown": sorted(str(i) for i in unknown)})
    done = uow.enrolments.move_many(
        change,
        enrolment_ids=selection.enrolment_ids,
        programme=selection.programme,
        status=selection.status,
        region=selection.region,
        cercle=selection.cercle,
        commune=selection.commune,
        effective_at=move.at,
        batch=BATCH,
    )
    result = Moved(
        moved=sum(done.moved.values()),
        refused=[{"enrolment_id": i, **change.refusal(status)} for i, status in done.refused],
    )
    publish_batches(uow, done.batches, status=change.to_status)
    statuses = Counter(status for _, status in done.refused) + Counter(done.moved)
    record_action(
        uow,
        actor=actor,
        action=f"enrolments.{move.action}",
        subject=subject,
        before={"statuses": dict(statuses)},
        after={"moved": result.moved, "refused": len(result.refused), "reason": move.reason},
    )
    return result
