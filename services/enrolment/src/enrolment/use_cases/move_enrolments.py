"""Move enrolments through their lifecycle (target, validate, activate, suspend, exit), one or many at once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from enrolment.db.unit_of_work import EnrolmentUnitOfWork
from enrolment.domain.enrolments import CommunityValidation, Enrolment
from enrolment.events import publish_enrolments
from shared.audit import record_action
from shared.auth import Principal
from shared.errors import Conflict, NotFound

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
    moved: list[Enrolment] = field(default_factory=list)
    refused: list[dict[str, Any]] = field(default_factory=list)


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
    uow: EnrolmentUnitOfWork, *, enrolments: Sequence[Enrolment], move: Move, actor: Principal, subject: str
) -> Moved:
    """The same move for each; those whose status does not allow it are refused, the others move."""
    result = Moved()
    before = Counter(e.status for e in enrolments)
    for enrolment in enrolments:
        try:
            move.apply(enrolment)
        except Conflict as refusal:
            result.refused.append({"enrolment_id": enrolment.id, **refusal.details})
            continue
        result.moved.append(enrolment)
    uow.enrolments.save(result.moved)
    publish_enrolments(uow, result.moved, at=move.at)
    record_action(
        uow,
        actor=actor,
        action=f"enrolments.{move.action}",
        subject=subject,
        before={"statuses": dict(before)},
        after={"moved": len(result.moved), "refused": len(result.refused), "reason": move.reason},
    )
    return result
