"""One raw record becomes a validated household, or the list of what is wrong with each field."""

from __future__ import annotations

from collections.abc import Callable

import phonenumbers
import pytest
from phonenumbers import carrier

from enrolment.domain.households import FieldError, Household, normalise_msisdn, operator_of, parse_household

RecordBuilder = Callable[..., dict[str, str]]
HouseholdBuilder = Callable[..., Household]


def test_a_complete_record_becomes_a_household_in_official_spelling(record: RecordBuilder) -> None:
    parsed = parse_household(record(region="SEGOU", cercle="niono", head_name="  Moussa   Traoré "))

    assert isinstance(parsed, Household)
    assert (parsed.region, parsed.cercle, parsed.head_name) == ("Ségou", "Niono", "Moussa Traoré")
    assert (parsed.head_birth_year, parsed.size, parsed.msisdn) == (1975, 6, "+22376123401")


@pytest.mark.parametrize(
    "written", ["76123401", "+22376123401", "22376123401", "0022376123401", "76 12 34 01"]
)
def test_mobile_numbers_are_accepted_in_every_usual_writing(written: str) -> None:
    assert normalise_msisdn(written) == "+22376123401"


@pytest.mark.parametrize("written", ["+33612345678", "0033612345678", "+225 07 12 34 56 78"])
def test_foreign_mobile_number_is_rejected_with_reason(record: RecordBuilder, written: str) -> None:
    errors = parse_household(record(msisdn=written))

    assert isinstance(errors, list)
    assert [error.field for error in errors] == ["msisdn"]
    assert "foreign number" in errors[0].reason
    assert "+223" in errors[0].reason


def test_fixed_line_number_is_rejected_as_not_mobile() -> None:
    with pytest.raises(ValueError, match="fixed line"):
        normalise_msisdn("20212345")


@pytest.mark.parametrize("written", ["7612340", "761234012", "+2237612340", "06123456", "téléphone"])
def test_malformed_or_unallocated_number_is_rejected(written: str) -> None:
    with pytest.raises(ValueError, match="Malian mobile number"):
        normalise_msisdn(written)


@pytest.mark.parametrize(
    ("msisdn", "operator"),
    [
        ("+22376123401", "orange"),
        ("+22390123401", "orange"),
        ("+22383123401", "orange"),
        ("+22366123401", "moov"),
        ("+22395123401", "moov"),
        ("+22389123401", "moov"),
        ("+22350123401", "other"),
    ],
)
def test_operator_is_inferred_from_the_number_prefix(msisdn: str, operator: str) -> None:
    assert operator_of(msisdn) == operator


def test_operator_prefixes_agree_with_libphonenumber_carrier_data() -> None:
    carriers = {"Orange": "orange", "Sotelma": "moov", "Atel": "other"}
    national_numbers = [f"{prefix:02d}123456" for prefix in range(100)] + ["20012345", "20791234", "21712345"]
    for national in national_numbers:
        number = phonenumbers.parse("+223" + national)
        if phonenumbers.number_type(number) != phonenumbers.PhoneNumberType.MOBILE:
            continue
        assert operator_of("+223" + national) == carriers[carrier.name_for_number(number, "en")], national


def test_the_operator_is_part_of_the_household(household: HouseholdBuilder) -> None:
    assert household(msisdn="66 12 34 01").operator == "moov"
    assert household(msisdn="", preferred_modality="voucher").operator is None


def test_mobile_money_household_without_a_number_is_refused_on_its_number(record: RecordBuilder) -> None:
    assert parse_household(record(msisdn="")) == [FieldError("msisdn", "required for mobile money")]


def test_voucher_household_needs_no_number(household: HouseholdBuilder) -> None:
    assert household(msisdn="", preferred_modality="Coupon").preferred_modality == "voucher"


def test_unknown_region_is_reported_on_the_region_field(record: RecordBuilder) -> None:
    assert parse_household(record(region="Abidjan")) == [FieldError("region", "unknown region 'Abidjan'")]


def test_unknown_cercle_is_reported_on_the_cercle_field(record: RecordBuilder) -> None:
    assert parse_household(record(cercle="Nowhere")) == [
        FieldError("cercle", "unknown cercle 'Nowhere' in region Ségou")
    ]


def test_cercle_of_another_region_is_reported_with_its_region(record: RecordBuilder) -> None:
    assert parse_household(record(cercle="Bandiagara")) == [
        FieldError("cercle", "cercle 'Bandiagara' is in region Mopti, not Ségou")
    ]


def test_required_fields_left_blank_are_reported_as_required(record: RecordBuilder) -> None:
    errors = parse_household(record(head_name=" ", village="", size=""))

    assert errors == [
        FieldError("head_name", "required"),
        FieldError("size", "required"),
        FieldError("village", "required"),
    ]


def test_every_wrong_field_is_reported_at_once(record: RecordBuilder) -> None:
    errors = parse_household(record(head_sex="X", size="0", nina="123", region="Dakar"))

    assert isinstance(errors, list)
    assert [error.field for error in errors] == ["head_sex", "nina", "size", "region"]


def test_unknown_field_is_reported(record: RecordBuilder) -> None:
    assert parse_household(record(colour="blue")) == [FieldError("colour", "unknown field")]


@pytest.mark.parametrize(
    ("written", "hundredths"), [("11,235", 1124), ("12.5", 1250), ("-0,01", -1), ("7", 700)]
)
def test_pmt_score_is_kept_in_whole_hundredths_without_floats(
    household: HouseholdBuilder, written: str, hundredths: int
) -> None:
    score = household(pmt_score=written).pmt_score

    assert type(score) is int
    assert score == hundredths


def test_pmt_score_that_is_not_a_number_is_refused(record: RecordBuilder) -> None:
    assert parse_household(record(pmt_score="NaN")) == [FieldError("pmt_score", "'NaN' is not a number")]


def test_nina_is_kept_without_spaces_in_capitals(household: HouseholdBuilder) -> None:
    assert household(nina="1 1 75 0100100 123 f").nina == "11750100100123F"


def test_french_values_are_read_for_sex_modality_and_hea_category(household: HouseholdBuilder) -> None:
    parsed = household(head_sex="Femme", preferred_modality="Argent mobile", hea_category="Très pauvres")

    assert (parsed.head_sex, parsed.preferred_modality, parsed.hea_category) == (
        "F",
        "mobile_money",
        "very_poor",
    )


def test_birth_year_in_the_future_is_refused(record: RecordBuilder) -> None:
    assert parse_household(record(head_birth_year="2999")) == [
        FieldError("head_birth_year", "2999 is in the future")
    ]


def test_programme_ids_are_read_as_code_and_id_pairs(household: HouseholdBuilder) -> None:
    parsed = household(programme_ids="jigisemejiri:JS-0042 | CADRE_COMMUN:CC-7")

    assert parsed.programme_ids == {"JIGISEMEJIRI": "JS-0042", "CADRE_COMMUN": "CC-7"}


def test_a_household_is_immutable(household: HouseholdBuilder) -> None:
    parsed = household()

    with pytest.raises(ValueError, match="frozen"):
        parsed.size = 7  # type: ignore[misc]


def test_a_household_dumped_and_read_again_is_the_same(household: HouseholdBuilder) -> None:
    parsed = household(nina="11750100100123F", pmt_score="10,5", programme_ids="JIGISEMEJIRI:JS-1")

    assert Household.model_validate_json(parsed.model_dump_json()) == parsed
