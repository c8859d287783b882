"""Transfer schemes, top-ups and periods: integer XOF arithmetic that always adds up."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from payments.domain.schemes import (
    Area,
    Household,
    Location,
    Modality,
    MonthlyRate,
    Period,
    PeriodKind,
    ProviderRouting,
    SizeSupplement,
    TopUp,
    TransferScheme,
    YearlyTranches,
    period_index,
)
from shared.errors import InvalidInput
from shared.money import xof

ROUTING = ProviderRouting(routes={"orange": "gsma-orange", "moov": "mtn-style"})
SIKASSO = Location(region="Sikasso", cercle="Koutiala", commune="Koutiala")
GAO = Location(region="Gao", cercle="Ansongo", commune="Ouattagouna")


def jigisemejiri(**changes: object) -> TransferScheme:
    fields: dict[str, object] = {
        "programme_code": "J",
        "modality": Modality.MOBILE_MONEY,
        "basis": MonthlyRate(monthly_amount=10_000, every_months=3),
        "cycles": 12,
        "routing": ROUTING,
    }
    return TransferScheme.model_validate(fields | changes)


def household(size: int = 5, location: Location = SIKASSO, operator: str | None = "orange") -> Household:
    return Household(size=size, location=location, mobile_operator=operator)


def test_jigisemejiri_pays_30000_a_quarter_and_360000_over_twelve_quarters() -> None:
    scheme = jigisemejiri()

    assert scheme.cycle_amount(cycle_no=1) == xof(30_000)
    assert scheme.programme_total() == xof(360_000)


def test_a_cycle_outside_the_scheme_is_refused() -> None:
    with pytest.raises(InvalidInput):
        jigisemejiri().cycle_amount(cycle_no=13)


def test_a_yearly_amount_in_three_tranches_gives_the_remainder_to_the_first() -> None:
    assert YearlyTranches(yearly_amount=100_000, tranches=3).tranche_amounts == (33_334, 33_333, 33_333)


@given(st.integers(min_value=1, max_value=10**9), st.integers(min_value=1, max_value=12))
def test_tranches_sum_exactly_to_the_yearly_amount_and_differ_by_at_most_one_franc(
    yearly: int, tranches: int
) -> None:
    amounts = YearlyTranches(yearly_amount=yearly, tranches=tranches).tranche_amounts

    assert sum(amounts) == yearly
    assert len(amounts) == tranches
    assert max(amounts) - min(amounts) <= 1
    assert list(amounts) == sorted(amounts, reverse=True)


def test_a_cadre_commun_year_in_four_tranches_sums_to_120000() -> None:
    scheme = jigisemejiri(
        programme_code="CC",
        basis=YearlyTranches(yearly_amount=120_000, tranches=4),
        cycles=4,
        modality="voucher",
    )

    assert scheme.programme_total() == xof(120_000)


def test_a_household_size_supplement_adds_per_member_up_to_the_cap() -> None:
    scheme = jigisemejiri(size_supplement=SizeSupplement(per_member=2_000, cap=40_000))

    assert scheme.cycle_amount(cycle_no=1, household_size=3) == xof(36_000)
    assert scheme.cycle_amount(cycle_no=1, household_size=9) == xof(40_000)


@given(st.integers(min_value=1, max_value=40))
def test_a_size_based_amount_never_exceeds_its_cap(size: int) -> None:
    scheme = jigisemejiri(size_supplement=SizeSupplement(per_member=1_500, cap=45_000))

    assert 30_000 < scheme.cycle_amount(cycle_no=1, household_size=size).amount <= 45_000


def test_a_multiplier_top_up_is_recorded_apart_and_rounds_down_to_the_franc() -> None:
    scheme = jigisemejiri(basis=MonthlyRate(monthly_amount=10_001, every_months=3))
    flood = TopUp(area=Area(communes=frozenset({"Koutiala"})), multiplier_percent=150)

    entitlement = scheme.entitlement(cycle_no=1, household=household(), top_ups=[flood])

    assert entitlement.base == xof(30_003)
    assert entitlement.top_up == xof(15_001)  # 30,003 × 1.5 = 45,004.5 → 45,004
    assert entitlement.total == xof(45_004)


def test_a_fixed_top_up_reaches_only_households_in_its_area_whatever_the_accents() -> None:
    drought = TopUp(area=Area(regions=frozenset({"SÉGOU", "gao"})), fixed_amount=20_000)
    scheme = jigisemejiri()

    in_gao = scheme.entitlement(cycle_no=1, household=household(location=GAO), top_ups=[drought])
    in_sikasso = scheme.entitlement(cycle_no=1, household=household(), top_ups=[drought])
    in_segou = scheme.entitlement(
        cycle_no=1, household=household(location=Location("Ségou", "Niono", "Niono")), top_ups=[drought]
    )

    assert (in_gao.top_up, in_sikasso.top_up, in_segou.top_up) == (xof(20_000), xof(0), xof(20_000))


def test_two_top_ups_on_one_household_each_apply_to_the_base_without_compounding() -> None:
    flood = TopUp(area=Area(cercles=frozenset({"Koutiala"})), multiplier_percent=150)
    crisis = TopUp(area=Area(regions=frozenset({"Sikasso"})), fixed_amount=5_000)

    entitlement = jigisemejiri().entitlement(cycle_no=1, household=household(), top_ups=[flood, crisis])

    assert entitlement.top_up == xof(20_000)


@pytest.mark.parametrize(
    "fields",
    [
        {"area": {"regions": ["Gao"]}},
        {"area": {"regions": ["Gao"]}, "fixed_amount": 1_000, "multiplier_percent": 150},
        {"area": {"regions": ["Gao"]}, "multiplier_percent": 90},
        {"area": {}, "fixed_amount": 1_000},
    ],
)
def test_a_top_up_needs_one_rule_that_raises_the_amount_and_a_non_empty_area(
    fields: dict[str, object],
) -> None:
    with pytest.raises(ValidationError):
        TopUp.model_validate(fields)


def test_mobile_operators_are_routed_to_their_configured_provider() -> None:
    scheme = jigisemejiri()

    assert scheme.entitlement(cycle_no=1, household=household(operator="Orange")).provider == "gsma-orange"
    assert scheme.entitlement(cycle_no=1, household=household(operator="moov")).provider == "mtn-style"
    with pytest.raises(InvalidInput):
        scheme.entitlement(cycle_no=1, household=household(operator="telecel"))


def test_a_voucher_scheme_needs_no_provider_and_a_mobile_money_scheme_needs_a_routing() -> None:
    voucher = jigisemejiri(modality="voucher", routing=None)

    assert voucher.entitlement(cycle_no=1, household=household(operator=None)).provider is None
    with pytest.raises(ValidationError):
        jigisemejiri(routing=None)


def test_a_scheme_refuses_float_amounts() -> None:
    with pytest.raises(ValidationError):
        MonthlyRate.model_validate({"monthly_amount": 10_000.5, "every_months": 3})


@pytest.mark.parametrize(
    ("text", "period"),
    [
        ("2026-Q1", Period(2026, PeriodKind.QUARTER, 1)),
        ("2026-M03", Period(2026, PeriodKind.MONTH, 3)),
        ("2026-S1", Period(2026, PeriodKind.SEMESTER, 1)),
        ("2026-M12", Period(2026, PeriodKind.MONTH, 12)),
    ],
)
def test_periods_are_read_and_written_as_the_design_spells_them(text: str, period: Period) -> None:
    assert Period.parse(text) == period
    assert str(period) == text


@pytest.mark.parametrize(
    "text", ["2026-Q5", "2026-M3", "2026-M13", "2026-S3", "26-Q1", "2026Q1", "2026-q1", ""]
)
def test_malformed_periods_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        Period.parse(text)


@settings(max_examples=200)
@given(st.sampled_from(list(PeriodKind)), st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)))
def test_the_period_containing_a_day_starts_on_or_before_it_and_reads_back(
    kind: PeriodKind, day: date
) -> None:
    period = Period.containing(kind, day)

    assert period.first_day <= day < period.shifted(1).first_day
    assert Period.parse(str(period)) == period


def test_a_day_falls_in_the_period_counted_from_the_programmes_first() -> None:
    first = Period.parse("2026-Q1")

    assert period_index(first, date(2026, 1, 1)) == 0
    assert period_index(first, date(2026, 8, 15)) == 2
    assert period_index(first, date(2028, 12, 31)) == 11
    with pytest.raises(InvalidInput):
        period_index(first, date(2025, 12, 31))


def test_shifting_a_period_crosses_years() -> None:
    assert Period.parse("2026-Q4").shifted(1) == Period.parse("2027-Q1")
    assert Period.parse("2026-M01").shifted(-1) == Period.parse("2025-M12")
