"""An enrolment's lifecycle, its temporary form (horizontal expansion), automatic exits and refocusing."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from enrolment.domain.enrolments import (
    SYSTEM,
    CommunityValidation,
    Enrolment,
    MoveForMany,
    Refocusing,
    TemporaryEnrolment,
    exit_due,
)
from enrolment.domain.households import Household
from enrolment.domain.programmes import Programme
from shared.errors import Conflict, InvalidInput

HouseholdBuilder = Callable[..., Household]

T0 = datetime(2026, 1, 31, 9, 0, tzinfo=UTC)
OPERATOR = "aminata.kone"
PROGRAMME = Programme(
    code="JIGISEMEJIRI",
    name="Jigisemejiri",
    zone=({"region": "Mopti"},),
    duration_months=36,
    targeting_method="pmt",
)
FLOODS = TemporaryEnrolment(shock="floods Mopti 2026", ends_on=date(2026, 12, 31))


def registered(temporary: TemporaryEnrolment | None = None) -> Enrolment:
    return Enrolment.register(uuid.uuid4(), "JIGISEMEJIRI", at=T0, temporary=temporary)


def validation(at: datetime = T0) -> CommunityValidation:
    return CommunityValidation(who="comité villageois", when=at, where="assemblée villageoise de Sirakoro")


def targeted(temporary: TemporaryEnrolment | None = None) -> Enrolment:
    enrolment = registered(temporary)
    enrolment.target(at=T0, by=OPERATOR)
    return enrolment


def validated(temporary: TemporaryEnrolment | None = None) -> Enrolment:
    enrolment = targeted(temporary)
    enrolment.validate(validation(), by=OPERATOR)
    return enrolment


def active(temporary: TemporaryEnrolment | None = None) -> Enrolment:
    enrolment = validated(temporary)
    enrolment.activate(at=T0, by=OPERATOR)
    return enrolment


def suspended() -> Enrolment:
    enrolment = active()
    enrolment.suspend(at=T0, by=OPERATOR, reason="absent at the last two distributions")
    return enrolment


def test_a_new_enrolment_is_registered_with_its_own_id() -> None:
    first, second = registered(), registered()

    assert first.status == "registered"
    assert first.id != second.id


def test_an_enrolment_becomes_active_through_targeting_and_community_validation() -> None:
    enrolment = active()

    assert enrolment.status == "active"
    assert [(t.from_status, t.to_status) for t in enrolment.history] == [
        ("registered", "targeted"),
        ("targeted", "validated"),
        ("validated", "active"),
    ]


def test_community_validation_records_who_when_and_where() -> None:
    enrolment = active()

    assert enrolment.validation == validation()
    assert enrolment.history[1].reason == "comité villageois, assemblée villageoise de Sirakoro"


def test_activation_before_community_validation_is_a_conflict_listing_the_allowed_moves() -> None:
    enrolment = targeted()

    with pytest.raises(Conflict) as refused:
        enrolment.activate(at=T0, by=OPERATOR)

    assert refused.value.details == {"status": "targeted", "allowed": ["validated", "exited"]}
    assert enrolment.status == "targeted"


def test_active_and_suspended_go_back_and_forth() -> None:
    enrolment = active()
    enrolment.suspend(at=T0, by=OPERATOR, reason="phone number disputed")
    enrolment.activate(at=T0 + timedelta(days=40), by=OPERATOR)

    assert enrolment.status == "active"
    assert enrolment.history[-2].reason == "phone number disputed"


def test_the_start_date_is_the_first_activation_not_a_reactivation() -> None:
    enrolment = suspended()
    enrolment.activate(at=T0 + timedelta(days=90), by=OPERATOR)

    assert enrolment.started_on == date(2026, 1, 31)


@pytest.mark.parametrize("enrolled", [registered, targeted, validated, active, suspended])
def test_exit_is_allowed_from_every_state_but_exited(enrolled: Callable[[], Enrolment]) -> None:
    enrolment = enrolled()

    enrolment.exit(at=T0, by=OPERATOR, reason="left the village")

    assert (enrolment.status, enrolment.exit_reason) == ("exited", "left the village")


def test_an_exited_enrolment_cannot_move_again() -> None:
    enrolment = active()
    enrolment.exit(at=T0, by=OPERATOR, reason="duplicate of another household")

    with pytest.raises(Conflict) as refused:
        enrolment.activate(at=T0, by=OPERATOR)
    assert refused.value.details == {"status": "exited", "allowed": []}


def test_suspension_and_exit_need_a_reason() -> None:
    enrolment = active()

    with pytest.raises(InvalidInput, match="reason"):
        enrolment.suspend(at=T0, by=OPERATOR, reason=" ")
    with pytest.raises(InvalidInput, match="reason"):
        enrolment.exit(at=T0, by=OPERATOR, reason="")
    assert enrolment.status == "active"


def test_a_move_for_many_says_which_statuses_move_and_what_they_become() -> None:
    activation = MoveForMany.of(lambda e: e.activate(at=T0 + timedelta(hours=20), by=OPERATOR))
    validation_ = MoveForMany.of(lambda e: e.validate(validation(), by=OPERATOR))
    leaving = MoveForMany.of(lambda e: e.exit(at=T0, by=OPERATOR, reason=" left  the village "))

    assert (activation.sources, activation.to_status, activation.started_on) == (
        ("validated", "suspended"),
        "active",
        date(2026, 2, 1),
    )
    assert (validation_.sources, validation_.validation, validation_.at) == (("targeted",), validation(), T0)
    assert validation_.reason == "comité villageois, assemblée villageoise de Sirakoro"
    assert leaving.sources == ("registered", "targeted", "validated", "active", "suspended")
    assert (leaving.exit_reason, leaving.reason, leaving.started_on) == (
        "left the village",
        "left the village",
        None,
    )
    assert activation.refusal("targeted") == {"status": "targeted", "allowed": ["validated", "exited"]}
    assert activation.refusal("exited") == {"status": "exited", "allowed": []}


def test_a_move_for_many_refuses_what_the_single_move_refuses() -> None:
    with pytest.raises(InvalidInput, match="reason"):
        MoveForMany.of(lambda e: e.suspend(at=T0, by=OPERATOR, reason=" "))
    with pytest.raises(InvalidInput, match="time zone"):
        MoveForMany.of(lambda e: e.target(at=datetime(2026, 1, 31, 9, 0), by=OPERATOR))  # noqa: DTZ001


def test_instants_without_time_zone_are_refused() -> None:
    with pytest.raises(InvalidInput, match="time zone"):
        registered().target(at=datetime(2026, 1, 31, 9, 0), by=OPERATOR)  # noqa: DTZ001


def test_instants_are_kept_in_utc() -> None:
    enrolment = registered()
    enrolment.target(at=datetime(2026, 1, 31, 10, 0, tzinfo=timezone(timedelta(hours=1))), by=OPERATOR)

    assert enrolment.history[0].at == T0
    assert enrolment.history[0].at.tzinfo == UTC


def test_temporary_enrolment_needs_a_shock_and_an_end_date_or_a_number_of_cycles() -> None:
    with pytest.raises(InvalidInput, match="end date or a number of cycles"):
        TemporaryEnrolment(shock="floods Mopti 2026")
    with pytest.raises(InvalidInput, match="shock"):
        TemporaryEnrolment(shock=" ", max_cycles=2)
    with pytest.raises(InvalidInput, match="at least one cycle"):
        TemporaryEnrolment(shock="floods Mopti 2026", max_cycles=0)


def test_temporary_enrolment_exits_the_day_after_its_end_date() -> None:
    enrolment = active(FLOODS)

    assert exit_due(enrolment, PROGRAMME, on=date(2026, 12, 31), paid_cycles=3) is None
    assert exit_due(enrolment, PROGRAMME, on=date(2027, 1, 1), paid_cycles=3) == (
        "temporary enrolment for floods Mopti 2026 ended on 2026-12-31"
    )


def test_temporary_enrolment_exits_after_its_number_of_paid_cycles() -> None:
    enrolment = active(TemporaryEnrolment(shock="floods Mopti 2026", max_cycles=2))

    assert exit_due(enrolment, PROGRAMME, on=date(2026, 6, 1), paid_cycles=1) is None
    assert exit_due(enrolment, PROGRAMME, on=date(2026, 6, 1), paid_cycles=2) == (
        "temporary enrolment for floods Mopti 2026 ended after 2 paid cycles"
    )


def test_enrolment_exits_when_the_programme_duration_has_passed_since_activation() -> None:
    enrolment = active()  # activated on 31 January 2026, for 36 months

    assert exit_due(enrolment, PROGRAMME, on=date(2029, 1, 30), paid_cycles=12) is None
    assert exit_due(enrolment, PROGRAMME, on=date(2029, 1, 31), paid_cycles=12) == (
        "programme JIGISEMEJIRI ended for this household on 2029-01-31"
    )


def test_a_month_later_than_the_31st_is_the_last_day_of_a_shorter_month() -> None:
    short = PROGRAMME.model_copy(update={"duration_months": 1})

    assert exit_due(active(), short, on=date(2026, 2, 28), paid_cycles=0) is not None
    assert exit_due(active(), short, on=date(2026, 2, 27), paid_cycles=0) is None


def test_an_enrolment_never_activated_has_no_programme_end() -> None:
    assert exit_due(registered(), PROGRAMME, on=date(2040, 1, 1), paid_cycles=0) is None


def test_exit_if_due_exits_with_the_system_as_actor() -> None:
    enrolment = active(FLOODS)

    reason = enrolment.exit_if_due(PROGRAMME, at=datetime(2027, 1, 2, tzinfo=UTC), paid_cycles=4)

    assert enrolment.status == "exited"
    assert enrolment.exit_reason == reason
    assert enrolment.history[-1].by == SYSTEM


def test_exit_if_due_leaves_an_enrolment_alone_before_its_end() -> None:
    enrolment = active(FLOODS)

    assert enrolment.exit_if_due(PROGRAMME, at=T0, paid_cycles=0) is None
    assert enrolment.status == "active"


def test_an_exited_enrolment_is_never_due_to_exit() -> None:
    enrolment = active(FLOODS)
    enrolment.exit(at=T0, by=OPERATOR, reason="moved away")

    assert exit_due(enrolment, PROGRAMME, on=date(2030, 1, 1), paid_cycles=9) is None


def test_refocusing_by_pmt_threshold_keeps_the_poorest(household: HouseholdBuilder) -> None:
    refocusing = Refocusing(max_pmt_score=1050)

    assert refocusing.selects(household(pmt_score="10,50"))
    assert not refocusing.selects(household(pmt_score="10,51"))
    assert not refocusing.selects(household())  # no score, not selected


def test_refocusing_by_hea_categories_keeps_those_categories(household: HouseholdBuilder) -> None:
    refocusing = Refocusing(hea_categories=frozenset({"very_poor", "poor"}))

    assert refocusing.selects(household(hea_category="Pauvres"))
    assert not refocusing.selects(household(hea_category="Moyens"))
    assert not refocusing.selects(household())


def test_refocusing_takes_exactly_one_criterion() -> None:
    with pytest.raises(InvalidInput):
        Refocusing()
    with pytest.raises(InvalidInput):
        Refocusing(max_pmt_score=1000, hea_categories=frozenset({"poor"}))
