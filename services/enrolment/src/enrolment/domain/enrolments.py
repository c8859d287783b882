"""A household's enrolment in a programme: its lifecycle, temporary enrolments, automatic exits, refocusing.

    registered ─target─> targeted ─validate─> validated ─activate─> active ⇄ suspended
         └──────────────────┴───────────────────┴──────exit──────────┴──────────┴──> exited

Validation is the community's: who validated the list, when, and where (e.g. "assemblée villageoise de
Sirakoro"). Exit is possible from every state but exited, always with a reason. Any other move raises
`Conflict`, whose details list the moves allowed from the current state.

A temporary enrolment (horizontal expansion) is tied to a named shock and ends at a date or after a number
of paid cycles; every enrolment ends when the programme's duration has passed since its activation.
Mali keeps UTC all year, so the UTC date of an instant is also its date in Mali.
"""

from __future__ import annotations

import calendar
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Literal, cast, get_args

from enrolment.domain.households import HeaCategory, Household
from enrolment.domain.programmes import Programme
from shared.errors import Conflict, InvalidInput

Status = Literal["registered", "targeted", "validated", "active", "suspended", "exited"]

#: Who performs the automatic exits.
SYSTEM = "system"

_NEXT: dict[Status, tuple[Status, ...]] = {
    "registered": ("targeted", "exited"),
    "targeted": ("validated", "exited"),
    "validated": ("active", "exited"),
    "active": ("suspended", "exited"),
    "suspended": ("active", "exited"),
    "exited": (),
}


def _utc(at: datetime) -> datetime:
    if at.utcoffset() is None:
        raise InvalidInput(f"{at.isoformat()} has no time zone: give instants in UTC")
    return at.astimezone(UTC)


def _required(text: str, what: str) -> str:
    text = " ".join(text.split())
    if not text:
        raise InvalidInput(f"{what} is required")
    return text


@dataclass(frozen=True)
class CommunityValidation:
    """The community approved the household on the list: `who` (committee, chief), `when`, `where`."""

    who: str
    when: datetime
    where: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "who", _required(self.who, "who validated"))
        object.__setattr__(self, "where", _required(self.where, "where the validation took place"))
        object.__setattr__(self, "when", _utc(self.when))


@dataclass(frozen=True)
class TemporaryEnrolment:
    """Horizontal expansion: enrolled because of one shock, until `ends_on` (inclusive) or for `max_cycles`."""

    shock: str
    ends_on: date | None = None
    max_cycles: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "shock", _required(self.shock, "the shock"))
        if self.ends_on is None and self.max_cycles is None:
            raise InvalidInput("a temporary enrolment needs an end date or a number of cycles")
        if self.max_cycles is not None and self.max_cycles < 1:
            raise InvalidInput("a temporary enrolment lasts at least one cycle")


@dataclass(frozen=True)
class Transition:
    """One move of an enrolment, as the history keeps it."""

    from_status: Status
    to_status: Status
    at: datetime
    by: str
    reason: str | None = None


@dataclass
class Enrolment:
    """One household in one programme. Build it with `Enrolment.register`; move it with the verbs below."""

    household_id: uuid.UUID
    programme_code: str
    registered_at: datetime
    temporary: TemporaryEnrolment | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    status: Status = "registered"
    #: The day of the first activation, from which the programme's duration runs.
    started_on: date | None = None
    validation: CommunityValidation | None = None
    exit_reason: str | None = None
    history: list[Transition] = field(default_factory=list)

    @classmethod
    def register(
        cls,
        household_id: uuid.UUID,
        programme_code: str,
        *,
        at: datetime,
        temporary: TemporaryEnrolment | None = None,
    ) -> Enrolment:
        """A new enrolment, registered: the household is a candidate of the programme."""
        return cls(household_id, programme_code, _utc(at), temporary)

    def allowed(self) -> tuple[Status, ...]:
        """The statuses this enrolment may move to now."""
        return _NEXT[self.status]

    def target(self, *, at: datetime, by: str) -> None:
        """The targeting (PMT, HEA or categorical) selected the household."""
        self._move("targeted", at=at, by=by)

    def validate(self, validation: CommunityValidation, *, by: str) -> None:
        """Record the community's validation; `by` is the operator who records it."""
        self._move("validated", at=validation.when, by=by, reason=f"{validation.who}, {validation.where}")
        self.validation = validation

    def activate(self, *, at: datetime, by: str) -> None:
        """Start paying the household (again, after a suspension)."""
        self._move("active", at=at, by=by)
        if self.started_on is None:
            self.started_on = self.history[-1].at.date()

    def suspend(self, *, at: datetime, by: str, reason: str) -> None:
        """Stop paying for a while (e.g. an absent household, a disputed phone number)."""
        self._move("suspended", at=at, by=by, reason=_required(reason, "the reason for a suspension"))

    def exit(self, *, at: datetime, by: str, reason: str) -> None:
        """Leave the programme for good."""
        reason = _required(reason, "the reason for an exit")
        self._move("exited", at=at, by=by, reason=reason)
        self.exit_reason = reason

    def exit_if_due(self, programme: Programme, *, at: datetime, paid_cycles: int) -> str | None:
        """Exit automatically when `exit_due` gives a reason; returns that reason (None: nothing to do)."""
        reason = exit_due(self, programme, on=_utc(at).date(), paid_cycles=paid_cycles)
        if reason is not None:
            self.exit(at=at, by=SYSTEM, reason=reason)
        return reason

    def _move(self, to: Status, *, at: datetime, by: str, reason: str | None = None) -> None:
        if to not in self.allowed():
            raise Conflict(
                f"a {self.status} enrolment cannot become {to}",
                details={"status": self.status, "allowed": list(self.allowed())},
            )
        self.history.append(Transition(self.status, to, _utc(at), _required(by, "who"), reason))
        self.status = to


def next_statuses(status: Status) -> tuple[Status, ...]:
    """The statuses an enrolment in `status` may move to."""
    return _NEXT[status]


@dataclass(frozen=True)
class MoveForMany:
    """What one move does to every enrolment it is allowed for: a bulk transition writes it set-based.

    `MoveForMany.of` asks the domain itself: it applies the move to a stand-in enrolment in each status, so
    the lifecycle's rules stay in one place. Enrolments in a status outside `sources` are refused.
    """

    sources: tuple[Status, ...]
    to_status: Status
    at: datetime
    by: str
    reason: str | None
    #: The day an enrolment that never started starts on (activation); None: the move starts nothing.
    started_on: date | None
    validation: CommunityValidation | None
    exit_reason: str | None

    @classmethod
    def of(cls, move: Callable[[Enrolment], None]) -> MoveForMany:
        """Raises InvalidInput as the move does (a missing reason, an instant without time zone)."""
        sources: list[Status] = []
        moved: Enrolment | None = None
        for status in get_args(Status):
            stand_in = Enrolment(uuid.UUID(int=0), "", datetime.min.replace(tzinfo=UTC), status=status)
            try:
                move(stand_in)
            except Conflict:
                continue
            sources.append(status)
            moved = stand_in
        if moved is None:
            raise InvalidInput("this move is allowed from no status")
        transition = moved.history[-1]
        return cls(
            sources=tuple(sources),
            to_status=transition.to_status,
            at=transition.at,
            by=transition.by,
            reason=transition.reason,
            started_on=moved.started_on,
            validation=moved.validation,
            exit_reason=moved.exit_reason,
        )

    def refusal(self, status: str) -> dict[str, object]:
        """The details of the Conflict a single move would raise for an enrolment in `status` (as stored)."""
        return {"status": status, "allowed": list(_NEXT[cast(Status, status)])}


def _add_months(day: date, months: int) -> date:
    """The same day `months` later, or the month's last day if it is shorter (31 January + 1 = 28/29 Feb)."""
    year, month = divmod(day.month - 1 + months, 12)
    year += day.year
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def exit_due(enrolment: Enrolment, programme: Programme, *, on: date, paid_cycles: int) -> str | None:
    """Why the enrolment should exit on day `on` after `paid_cycles` paid cycles, or None if it should not.

    A temporary enrolment ends the day after `ends_on`, or once `max_cycles` cycles were paid; any enrolment
    ends `programme.duration_months` after its activation.
    """
    if enrolment.status == "exited":
        return None
    temporary = enrolment.temporary
    if temporary is not None and temporary.ends_on is not None and on > temporary.ends_on:
        return f"temporary enrolment for {temporary.shock} ended on {temporary.ends_on.isoformat()}"
    if temporary is not None and temporary.max_cycles is not None and paid_cycles >= temporary.max_cycles:
        return f"temporary enrolment for {temporary.shock} ended after {temporary.max_cycles} paid cycles"
    if enrolment.started_on is not None:
        ends = _add_months(enrolment.started_on, programme.duration_months)
        if on >= ends:
            return f"programme {programme.code} ended for this household on {ends.isoformat()}"
    return None


@dataclass(frozen=True)
class Refocusing:
    """Recentrage: keep only the most vulnerable, by PMT score (at most a threshold) or by HEA categories.

    The PMT score estimates welfare, so lower is poorer; `max_pmt_score` is in hundredths like the score.
    A household without the criterion's data is not selected. Exactly one criterion is given.
    """

    max_pmt_score: int | None = None
    hea_categories: frozenset[HeaCategory] = frozenset()

    def __post_init__(self) -> None:
        if (self.max_pmt_score is None) == (not self.hea_categories):
            raise InvalidInput(
                "a refocusing selects by PMT-score threshold or by HEA categories, one of the two"
            )

    def selects(self, household: Household) -> bool:
        """Whether the household stays in the refocused caseload."""
        if self.max_pmt_score is not None:
            return household.pmt_score is not None and household.pmt_score <= self.max_pmt_score
        return household.hea_category in self.hea_categories
