"""Possible duplicates: same NINA or RSU id, same phone, or a similar head in the same village."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from enrolment.domain.deduplication import DuplicateIndex, PossibleDuplicate, spelling_key
from enrolment.domain.households import Household
from enrolment.domain.imports import read_csv

HouseholdBuilder = Callable[..., Household]

NINA = "11750100100123F"


def indexed(*households: Household) -> DuplicateIndex[int]:
    index: DuplicateIndex[int] = DuplicateIndex()
    for number, household in enumerate(households, start=1):
        index.add(number, household)
    return index


def test_same_nina_is_an_exact_duplicate(household: HouseholdBuilder) -> None:
    index = indexed(household(nina=NINA))

    found = index.add(2, household(rsu_id="RSU-2", nina=NINA, head_name="Awa Diarra", msisdn="66000001"))

    assert found == [PossibleDuplicate(1, "same_nina", 100)]


def test_same_rsu_id_is_an_exact_duplicate(household: HouseholdBuilder) -> None:
    index = indexed(household())

    found = index.add(2, household(head_name="Awa Diarra", msisdn="66000001", village="Missira"))

    assert found == [PossibleDuplicate(1, "same_rsu_id", 100)]


def test_same_phone_on_another_household_is_a_strong_duplicate(household: HouseholdBuilder) -> None:
    index = indexed(household())

    found = index.add(
        2, household(rsu_id="RSU-2", head_name="Awa Diarra", head_sex="F", head_birth_year="1990")
    )

    assert found == [PossibleDuplicate(1, "same_msisdn", 100)]


def test_similar_head_in_the_same_village_born_a_year_apart_is_a_fuzzy_duplicate(
    household: HouseholdBuilder,
) -> None:
    index = indexed(household(head_name="Moussa Coulibaly"))

    found = index.add(
        2, household(rsu_id="RSU-2", head_name="KOULIBALI Mousa", head_birth_year="1976", msisdn="66000001")
    )

    assert [(d.of, d.reason) for d in found] == [(1, "similar_head")]
    assert found[0].score >= 88


def test_similar_head_in_another_village_is_not_a_duplicate(household: HouseholdBuilder) -> None:
    index = indexed(household())

    assert index.add(2, household(rsu_id="RSU-2", msisdn="66000001", village="Missira")) == []


def test_similar_head_born_two_years_apart_is_not_a_duplicate(household: HouseholdBuilder) -> None:
    index = indexed(household())

    assert index.add(2, household(rsu_id="RSU-2", msisdn="66000001", head_birth_year="1977")) == []


def test_different_heads_of_the_same_village_and_age_are_not_duplicates(household: HouseholdBuilder) -> None:
    index = indexed(household(head_name="Moussa Traoré"))

    assert index.add(2, household(rsu_id="RSU-2", msisdn="66000001", head_name="Mamadou Traoré")) == []


def test_village_names_compare_without_accents_or_case(household: HouseholdBuilder) -> None:
    index = indexed(household(village="Sénou"))

    found = index.add(2, household(rsu_id="RSU-2", msisdn="66000001", village="SENOU"))

    assert [d.reason for d in found] == ["similar_head"]


def test_a_pair_matching_for_several_reasons_is_reported_once_with_the_strongest(
    household: HouseholdBuilder,
) -> None:
    index = indexed(household(nina=NINA))

    assert index.add(2, household(rsu_id="RSU-2", nina=NINA)) == [PossibleDuplicate(1, "same_nina", 100)]


def test_duplicates_of_several_households_come_strongest_first(household: HouseholdBuilder) -> None:
    index = indexed(household(msisdn="66000001"), household(rsu_id="RSU-2", msisdn="76000002", nina=NINA))

    found = index.add(3, household(rsu_id="RSU-3", msisdn="76000002"))

    assert [(d.of, d.reason) for d in found] == [(2, "same_msisdn"), (1, "similar_head")]


def test_a_dismissed_pair_is_never_proposed_again(household: HouseholdBuilder) -> None:
    index = indexed(household())
    index.dismiss(2, 1)

    assert index.add(2, household(rsu_id="RSU-2", head_birth_year="1976")) == []


def test_stored_households_are_loaded_without_being_checked_and_then_found(
    household: HouseholdBuilder,
) -> None:
    index: DuplicateIndex[str] = DuplicateIndex()
    index.load("stored-a", household())
    index.load("stored-b", household())  # an old pair, already reviewed: no answer expected

    found = index.matches("new", household(rsu_id="RSU-2", msisdn="66000001"))

    assert {d.of for d in found} == {"stored-a", "stored-b"}


def test_spelling_key_folds_the_usual_variants_of_a_name() -> None:
    assert spelling_key("Moussa COULIBALY") == spelling_key("Kulibali Mousa") == "kulibali musa"


def test_duplicates_planted_in_a_generated_file_are_found_with_high_precision_and_recall(
    generated_file: tuple[Path, dict[str, Any]],
) -> None:
    path, truth = generated_file
    index: DuplicateIndex[int] = DuplicateIndex()
    proposed = set()
    with path.open("rb") as file:
        for row, parsed in read_csv(file):
            if isinstance(parsed, Household):
                proposed |= {(duplicate.of, row) for duplicate in index.add(row, parsed)}

    group = {row: planted["of"] for planted in truth["duplicates"] for row in (planted["row"], planted["of"])}
    planted_pairs = {(planted["of"], planted["row"]) for planted in truth["duplicates"]}
    right = {(a, b) for a, b in proposed if a in group and group[a] == group.get(b)}
    assert len(planted_pairs) > 100
    assert len(right) / len(proposed) >= 0.95  # precision
    assert len(planted_pairs & proposed) / len(planted_pairs) >= 0.95  # recall


def test_bad_rows_planted_in_a_generated_file_are_all_rejected_on_their_field(
    generated_file: tuple[Path, dict[str, Any]],
) -> None:
    path, truth = generated_file
    with path.open("rb") as file:
        rejected = {
            row: {e.field for e in parsed} for row, parsed in read_csv(file) if isinstance(parsed, list)
        }

    assert {bad["row"]: bad["field"] for bad in truth["bad"]} == {
        row: fields.pop() for row, fields in rejected.items()
    }
