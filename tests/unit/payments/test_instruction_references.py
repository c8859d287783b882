"""Instruction references: at most 16 SWIFT-X characters, one per attempt, never two alike."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payments.domain.references import (
    MAX_ATTEMPTS,
    MAX_SEQUENCE,
    SWIFT_X_CHARACTERS,
    attempt_reference,
    instruction_reference,
    validate_reference,
)
from payments.domain.schemes import Period, PeriodKind
from shared.errors import InvalidInput

codes = st.from_regex(r"\A[A-Z][A-Z0-9]{0,2}\Z")
periods = st.builds(
    lambda year, kind, number: Period(year, kind, (number - 1) % kind.per_year + 1),
    st.integers(min_value=2000, max_value=2099),
    st.sampled_from(list(PeriodKind)),
    st.integers(min_value=1, max_value=12),
)
sequences = st.integers(min_value=1, max_value=MAX_SEQUENCE)
attempts = st.integers(min_value=1, max_value=MAX_ATTEMPTS)
inputs = st.tuples(codes, periods, sequences, attempts)


def reference(code: str, period: Period, sequence: int, attempt: int) -> str:
    return attempt_reference(instruction_reference(code, period, sequence), attempt)


def test_a_jigisemejiri_reference_reads_programme_period_and_household() -> None:
    first = instruction_reference("J", Period.parse("2026-Q1"), 41)

    assert first == "J26Q1-000041"
    assert attempt_reference(first, 1) == first
    assert attempt_reference(first, 2) == "J26Q1-000041B"


@given(inputs)
def test_every_reference_fits_16_swift_x_characters(drawn: tuple[str, Period, int, int]) -> None:
    text = reference(*drawn)

    assert len(text) <= 16
    assert set(text) <= SWIFT_X_CHARACTERS
    assert validate_reference(text) == text


@given(inputs, inputs)
def test_different_payments_or_attempts_never_share_a_reference(
    one: tuple[str, Period, int, int], other: tuple[str, Period, int, int]
) -> None:
    if one != other:
        assert reference(*one) != reference(*other)


@pytest.mark.parametrize("text", ["PMT25Q1-000041", "J26M03-000001Z", "A/B-1"])
def test_references_from_the_fixtures_and_other_swift_x_texts_are_accepted(text: str) -> None:
    assert validate_reference(text) == text


@pytest.mark.parametrize(
    "text", ["", "J26Q1-0000000041B", "J26Q1_000041", "PMT25Q1-0000é1", "/J26Q1", "J26//Q1"]
)
def test_references_that_would_not_survive_an_mt940_statement_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        validate_reference(text)


@pytest.mark.parametrize(
    ("code", "sequence", "attempt"), [("j", 1, 1), ("JIGI", 1, 1), ("1J", 1, 1), ("J", 0, 1), ("J", 1, 27)]
)
def test_out_of_range_parts_are_refused(code: str, sequence: int, attempt: int) -> None:
    with pytest.raises(InvalidInput):
        reference(code, Period.parse("2026-Q1"), sequence, attempt)


@given(st.text(alphabet=st.sampled_from([*sorted(SWIFT_X_CHARACTERS), "é", "_", "\n", "/"]), max_size=20))
def test_a_text_is_a_reference_exactly_when_it_keeps_the_three_rules(text: str) -> None:
    """The one-pattern check accepts what the rules accept, and a refusal names the rule broken."""
    sized = 1 <= len(text) <= 16
    swift_x = set(text) <= SWIFT_X_CHARACTERS
    slashes = not (text.startswith("/") or text.endswith("/") or "//" in text)
    if sized and swift_x and slashes:
        assert validate_reference(text) == text
    else:
        with pytest.raises(InvalidInput) as refused:
            validate_reference(text)
        rule = "characters:" if not sized else "SWIFT-X" if not swift_x else "'/'"
        assert rule in str(refused.value)
