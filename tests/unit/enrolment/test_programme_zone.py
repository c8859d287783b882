"""A programme's zone is checked against the reference geography and tells which households it covers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from enrolment.domain.households import Household
from enrolment.domain.programmes import Area, Programme
from shared.errors import Conflict

HouseholdBuilder = Callable[..., Household]


def jigisemejiri(**changes: Any) -> Programme:
    fields: dict[str, Any] = {
        "code": "JIGISEMEJIRI",
        "name": "Jigisemejiri — filets sociaux",
        "zone": [
            {"region": "SEGOU", "cercle": "niono"},
            {"region": "Gao", "cercle": "Gao", "commune": "Gabero"},
        ],
        "duration_months": 36,
        "targeting_method": "pmt",
    }
    return Programme.model_validate(fields | changes)


def test_zone_areas_are_kept_in_official_spelling() -> None:
    assert jigisemejiri().zone[0] == Area(region="Ségou", cercle="Niono")


@pytest.mark.parametrize(
    ("area", "reason"),
    [
        ({"region": "Dakar"}, "unknown region 'Dakar'"),
        ({"region": "Ségou", "cercle": "Bandiagara"}, "no cercle 'Bandiagara' in region Ségou"),
        ({"region": "Ségou", "commune": "Pogo"}, "a commune needs its cercle"),
    ],
)
def test_zone_outside_the_reference_geography_is_refused(area: dict[str, str], reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        jigisemejiri(zone=[area])


def test_a_programme_without_zone_is_refused() -> None:
    with pytest.raises(ValidationError, match="zone"):
        jigisemejiri(zone=[])


def test_programme_code_is_capitals_digits_and_underscores() -> None:
    assert jigisemejiri(code="CADRE_COMMUN_2026").code == "CADRE_COMMUN_2026"
    with pytest.raises(ValidationError, match="code"):
        jigisemejiri(code="cadre commun")


def test_a_programme_covers_households_of_its_cercles_and_communes(household: HouseholdBuilder) -> None:
    programme = jigisemejiri()

    assert programme.covers(household())
    assert programme.covers(household(region="Gao", cercle="Gao", commune="GABERO"))
    assert not programme.covers(household(region="Gao", cercle="Gao", commune="Gounzoureye"))
    assert not programme.covers(household(cercle="Macina", commune="Kolongo"))


def test_a_whole_region_covers_all_its_cercles(household: HouseholdBuilder) -> None:
    assert jigisemejiri(zone=[{"region": "Ségou"}]).covers(household(cercle="San", commune="Tène"))


def test_capacity_left_is_enforced_with_a_conflict() -> None:
    programme = jigisemejiri(capacity=44_000)
    programme.ensure_room(enrolled=43_000, adding=1_000)

    with pytest.raises(Conflict, match="room for 1000 more households, not 1001") as refused:
        programme.ensure_room(enrolled=43_000, adding=1_001)
    assert refused.value.details == {"capacity": 44_000, "enrolled": 43_000, "adding": 1_001}


def test_a_programme_without_capacity_has_room_for_everyone() -> None:
    jigisemejiri().ensure_room(enrolled=10**6, adding=10**6)
