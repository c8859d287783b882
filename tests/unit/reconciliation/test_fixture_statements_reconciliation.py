"""The three fixture statements, classified line by line against the fixture instructions (PROVIDERS.md §8.5).

Expected outcomes are written out by hand from the fixtures, never computed by the code under test.
Payment states: bank transfers and the Orange bulk batch were handed over (SUBMITTED); neither a bank
nor the Orange bulk portal calls back, so the statement is the only evidence. Fundings are the batch
totals of instructions.csv (BAT25Q1-OM01: 8 × 30 000, BAT25Q1-GS01 and BAT25Q1-WV01: 4 × 30 000).
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from reconciliation.domain.matching import (
    Expectation,
    Funding,
    InstructionOutcome,
    LineOutcome,
    PaymentState,
    Reconciliation,
    Severity,
    reconcile,
)
from reconciliation.statements.camt053 import parse_camt053
from reconciliation.statements.lines import Statement
from reconciliation.statements.mt940 import parse_mt940
from reconciliation.statements.operator_csv import parse_operator_csv

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
FUNDINGS = (
    Funding("BAT25Q1-OM01", 240_000),
    Funding("BAT25Q1-GS01", 120_000),
    Funding("BAT25Q1-WV01", 120_000),
)


def _instructions(channel: str, provider: str) -> list[Expectation]:
    with (FIXTURES / "instructions.csv").open(encoding="utf-8") as file:
        rows = [row for row in csv.DictReader(file) if row["provider_shape"] == channel]
    return [
        Expectation(
            instruction_id=row["instruction_id"],
            provider=provider,
            payee=row["beneficiary_account"] or row["msisdn"],
            amount=int(row["amount"]),
            state=PaymentState.SUBMITTED,
            instructed_on=date.fromisoformat(row["planned_date"]),
        )
        for row in rows
    ]


def _camt() -> Statement:
    with (FIXTURES / "statements" / "camt053_BFML_770001_20250314.xml").open("rb") as file:
        [statement] = parse_camt053(file)
    return statement


def _mt940() -> Statement:
    with (FIXTURES / "statements" / "mt940_BFML_770001_20250317.sta").open("rb") as file:
        [statement] = parse_mt940(file)
    return statement


def _operator_report() -> Statement:
    with (FIXTURES / "statements" / "operator_bulk_report_OM_BAT25Q1-OM01_20250314.csv").open("rb") as file:
        return parse_operator_csv(file)


def _lines(result: Reconciliation) -> list[tuple[str, LineOutcome, str | None]]:
    return [(line.line.line_id, line.outcome, line.reference) for line in result.lines]


def _instructions_outcome(result: Reconciliation) -> dict[str, InstructionOutcome]:
    return {item.expectation.instruction_id: item.outcome for item in result.instructions}


@pytest.fixture(scope="module")
def camt_only() -> Reconciliation:
    return reconcile(
        _instructions("bank", "bank"),
        _camt().lines,
        fundings=FUNDINGS,
        settled_through={"bank": date(2025, 3, 14)},
    )


@pytest.fixture(scope="module")
def camt_then_mt940() -> Reconciliation:
    return reconcile(
        _instructions("bank", "bank"),
        [*_camt().lines, *_mt940().lines],
        fundings=FUNDINGS,
        settled_through={"bank": date(2025, 3, 17)},
    )


@pytest.fixture(scope="module")
def orange_report() -> Reconciliation:
    return reconcile(
        _instructions("orange_bulk_csv", "orange_money"),
        _operator_report().lines,
        fundings=FUNDINGS,
        settled_through={"orange_money": date(2025, 3, 14)},
    )


def test_every_camt_line_of_14_march_is_classified(camt_only: Reconciliation) -> None:
    assert _lines(camt_only) == [
        ("001", LineOutcome.UNMATCHED_CREDIT, None),  # treasury funding TRS25-0314-001: no expectation of it
        ("002", LineOutcome.FUNDING_MATCHED, "BAT25Q1-OM01"),
        ("003", LineOutcome.FUNDING_MATCHED, "BAT25Q1-GS01"),
        ("004", LineOutcome.MATCHED, "PMT25Q1-000101"),
        ("005", LineOutcome.MATCHED, "PMT25Q1-000102"),
        ("006", LineOutcome.MATCHED, "PMT25Q1-000103"),
        ("007", LineOutcome.MATCHED, "PMT25Q1-000104"),
        ("008", LineOutcome.UNKNOWN_REFERENCE, None),  # PMT25Q1-009999 was never instructed
        ("009", LineOutcome.RETURN, "PMT25Q1-000103"),
        ("010", LineOutcome.FEE, None),
        ("011", LineOutcome.MATCHED, "PMT25Q1-000105"),
    ]


def test_camt_of_14_march_settles_the_transfers_of_that_day_and_leaves_those_of_17_march_awaited(
    camt_only: Reconciliation,
) -> None:
    assert _instructions_outcome(camt_only) == {
        "PMT25Q1-000101": InstructionOutcome.MATCHED,
        "PMT25Q1-000102": InstructionOutcome.MATCHED,
        "PMT25Q1-000103": InstructionOutcome.RETURNED,
        "PMT25Q1-000104": InstructionOutcome.AMOUNT_MISMATCH,
        "PMT25Q1-000105": InstructionOutcome.MATCHED,
        "PMT25Q1-000106": InstructionOutcome.AWAITING_PROVIDER,
        "PMT25Q1-000107": InstructionOutcome.AWAITING_PROVIDER,
        "PMT25Q1-000108": InstructionOutcome.AWAITING_PROVIDER,
        "PMT25Q1-000109": InstructionOutcome.AWAITING_PROVIDER,
        "PMT25Q1-000110": InstructionOutcome.AWAITING_PROVIDER,
    }


def test_every_mt940_line_of_17_march_is_classified(camt_then_mt940: Reconciliation) -> None:
    assert _lines(camt_then_mt940)[11:] == [
        ("1", LineOutcome.FUNDING_MATCHED, "BAT25Q1-WV01"),
        ("2", LineOutcome.MATCHED, "PMT25Q1-000106"),
        ("3", LineOutcome.MATCHED, "PMT25Q1-000107"),
        ("4", LineOutcome.MATCHED, "PMT25Q1-000108"),
        ("5", LineOutcome.MATCHED, "PMT25Q1-000108"),
        ("6", LineOutcome.MATCHED, "PMT25Q1-000109"),
        ("7", LineOutcome.UNKNOWN_REFERENCE, None),  # NONREF transfer to ISSA SOUMAORO
        ("8", LineOutcome.RETURN, "PMT25Q1-000107"),  # RD + NRTI + /RTRN/AC04
        ("9", LineOutcome.FEE, None),
        ("10", LineOutcome.UNMATCHED_CREDIT, None),  # treasury complement TRS25-0317-02
        ("11", LineOutcome.MATCHED, "PMT25Q1-000110"),
    ]


def test_both_bank_statements_together_explain_every_bank_transfer(camt_then_mt940: Reconciliation) -> None:
    assert _instructions_outcome(camt_then_mt940) == {
        "PMT25Q1-000101": InstructionOutcome.MATCHED,
        "PMT25Q1-000102": InstructionOutcome.MATCHED,
        "PMT25Q1-000103": InstructionOutcome.RETURNED,
        "PMT25Q1-000104": InstructionOutcome.AMOUNT_MISMATCH,
        "PMT25Q1-000105": InstructionOutcome.MATCHED,
        "PMT25Q1-000106": InstructionOutcome.MATCHED,
        "PMT25Q1-000107": InstructionOutcome.RETURNED,
        "PMT25Q1-000108": InstructionOutcome.DUPLICATE_SETTLEMENT,
        "PMT25Q1-000109": InstructionOutcome.MATCHED,
        "PMT25Q1-000110": InstructionOutcome.MATCHED,
    }


def test_bank_discrepancies_carry_severity_and_the_amount_at_stake(camt_then_mt940: Reconciliation) -> None:
    stakes = {
        item.expectation.instruction_id: (item.discrepancy.severity, item.discrepancy.amount_at_stake)
        for item in camt_then_mt940.instructions
        if item.discrepancy is not None
    }
    assert stakes == {
        "PMT25Q1-000103": (Severity.WARNING, 30_000),
        "PMT25Q1-000104": (Severity.CRITICAL, 5_000),
        "PMT25Q1-000107": (Severity.WARNING, 30_000),
        "PMT25Q1-000108": (Severity.CRITICAL, 30_000),
    }


def test_the_return_names_its_reason_code(camt_then_mt940: Reconciliation) -> None:
    [returned] = [
        item for item in camt_then_mt940.instructions if item.expectation.instruction_id == "PMT25Q1-000103"
    ]
    assert returned.discrepancy is not None
    assert "AC04" in returned.discrepancy.suggested_action
    assert returned.settled_amount == 0


def test_every_line_of_the_orange_report_is_classified(orange_report: Reconciliation) -> None:
    assert _lines(orange_report) == [
        ("1", LineOutcome.FUNDING_MATCHED, "BAT25Q1-OM01"),
        ("2", LineOutcome.MATCHED, "PMT25Q1-000041"),
        ("2-fee", LineOutcome.FEE, "PMT25Q1-000041"),
        ("3", LineOutcome.MATCHED, "PMT25Q1-000042"),
        ("3-fee", LineOutcome.FEE, "PMT25Q1-000042"),
        ("4", LineOutcome.MATCHED, "PMT25Q1-000043"),
        ("4-fee", LineOutcome.FEE, "PMT25Q1-000043"),
        ("5", LineOutcome.MATCHED, "PMT25Q1-000044"),  # Echec: matched, no money moved, no fee
        ("6", LineOutcome.MATCHED, "PMT25Q1-000045"),
        ("6-fee", LineOutcome.FEE, "PMT25Q1-000045"),
        ("7", LineOutcome.MATCHED, "PMT25Q1-000046"),
        ("7-fee", LineOutcome.FEE, "PMT25Q1-000046"),
        ("8", LineOutcome.MATCHED, "PMT25Q1-000047"),
        ("8-fee", LineOutcome.FEE, "PMT25Q1-000047"),
        ("9", LineOutcome.UNKNOWN_REFERENCE, None),  # PMT25Q1-000999 was never instructed
        ("9-fee", LineOutcome.FEE, None),
        ("10", LineOutcome.REVERSAL, "PMT25Q1-000047"),  # Annulation of BP250314.0915.B10047
    ]


def test_the_orange_report_explains_every_instruction_of_its_batch(orange_report: Reconciliation) -> None:
    assert _instructions_outcome(orange_report) == {
        "PMT25Q1-000041": InstructionOutcome.MATCHED,
        "PMT25Q1-000042": InstructionOutcome.MATCHED,
        "PMT25Q1-000043": InstructionOutcome.MATCHED,
        "PMT25Q1-000044": InstructionOutcome.NO_MONEY_MOVED,
        "PMT25Q1-000045": InstructionOutcome.AMOUNT_MISMATCH,
        "PMT25Q1-000046": InstructionOutcome.MATCHED,
        "PMT25Q1-000047": InstructionOutcome.REVERSED,
        "PMT25Q1-000048": InstructionOutcome.MISSING_FROM_SETTLEMENT,
    }


def test_orange_discrepancies_carry_severity_and_the_amount_at_stake(orange_report: Reconciliation) -> None:
    stakes = {
        item.expectation.instruction_id: (
            item.outcome,
            item.discrepancy.severity,
            item.discrepancy.amount_at_stake,
        )
        for item in orange_report.instructions
        if item.discrepancy is not None
    }
    assert stakes == {
        "PMT25Q1-000044": (InstructionOutcome.NO_MONEY_MOVED, Severity.WARNING, 30_000),
        "PMT25Q1-000045": (InstructionOutcome.AMOUNT_MISMATCH, Severity.CRITICAL, 5_000),
        "PMT25Q1-000047": (InstructionOutcome.REVERSED, Severity.WARNING, 30_000),
        "PMT25Q1-000048": (InstructionOutcome.MISSING_FROM_SETTLEMENT, Severity.WARNING, 30_000),
    }
