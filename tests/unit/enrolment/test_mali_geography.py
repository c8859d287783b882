"""Regions, cercles and communes of Mali, read whatever their spelling."""

from __future__ import annotations

import pytest

from enrolment.domain.geography import (
    cercles,
    communes,
    name_key,
    normalise_cercle,
    normalise_region,
    region_of_cercle,
    regions,
)
from shared.errors import NotFound


def test_the_ten_regions_and_bamako_are_listed_in_official_spelling() -> None:
    assert regions() == [
        "Kayes",
        "Koulikoro",
        "Sikasso",
        "Ségou",
        "Mopti",
        "Tombouctou",
        "Gao",
        "Kidal",
        "Ménaka",
        "Taoudénit",
        "Bamako",
    ]


@pytest.mark.parametrize(
    ("written", "official"),
    [
        ("SEGOU", "Ségou"),
        ("segou", "Ségou"),
        ("  Ménaka ", "Ménaka"),
        ("Région de Mopti", "Mopti"),
        ("District de Bamako", "Bamako"),
        ("Timbuktu", "Tombouctou"),
        ("TAOUDENI", "Taoudénit"),
    ],
)
def test_region_names_are_read_whatever_their_accents_and_case(written: str, official: str) -> None:
    assert normalise_region(written) == official


def test_a_2023_region_is_read_as_the_region_it_was_carved_from() -> None:
    assert normalise_region("Bougouni") == "Sikasso"
    assert normalise_cercle("Bougouni", "Bougouni") == "Bougouni"


def test_an_unknown_region_is_none() -> None:
    assert normalise_region("Abidjan") is None


def test_a_cercle_is_read_in_official_spelling_within_its_region() -> None:
    assert normalise_cercle("KAYES", "nioro") == "Nioro du Sahel"
    assert normalise_cercle("Tombouctou", "GOURMA RHAROUS") == "Gourma-Rharous"


def test_a_cercle_of_another_region_does_not_belong_to_this_one() -> None:
    assert normalise_cercle("Ségou", "Bandiagara") is None
    assert region_of_cercle("bandiagara") == "Mopti"


def test_cercles_of_an_unknown_region_are_not_found() -> None:
    with pytest.raises(NotFound):
        cercles("Dakar")


def test_every_cercle_has_a_sample_of_communes() -> None:
    for region in regions():
        for cercle in cercles(region):
            assert communes(region, cercle), (region, cercle)


def test_the_district_of_bamako_has_its_six_communes_under_one_cercle() -> None:
    assert cercles("Bamako") == ["Bamako"]
    assert len(communes("Bamako", "Bamako")) == 6


def test_names_compare_without_accents_case_punctuation_or_bambara_letters() -> None:
    assert name_key("Nioro-du-SAHEL") == "nioro du sahel"
    assert name_key("Ɲɛlɛ Kɔnɛ") == "nyele kone"
