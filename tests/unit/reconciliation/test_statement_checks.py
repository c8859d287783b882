"""File-level checks: what refuses a statement and what is only recorded with it."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

from reconciliation.statements.camt053 import parse_camt053
from reconciliation.statements.checks import (
    Check,
    check_balance,
    check_continuity,
    check_duplicate_file,
    check_statement,
    check_summary,
)
from reconciliation.statements.lines import Statement
from reconciliation.statements.mt940 import parse_mt940
from reconciliation.statements.operator_csv import parse_operator_csv

STATEMENTS = Path(__file__).resolve().parents[2] / "fixtures" / "statements"
ACCOUNTS = {"ML06ML0990100100000077000145", "70000001"}


def _camt(data: bytes | None = None) -> Statement:
    [statement] = parse_camt053(
        io.BytesIO(data or (STATEMENTS / "camt053_BFML_770001_20250314.xml").read_bytes())
    )
    return statement


def _mt940() -> Statement:
    [statement] = parse_mt940(io.BytesIO((STATEMENTS / "mt940_BFML_770001_20250317.sta").read_bytes()))
    return statement


def test_the_three_fixture_statements_pass_every_check() -> None:
    report = parse_operator_csv(
        io.BytesIO((STATEMENTS / "operator_bulk_report_OM_BAT25Q1-OM01_20250314.csv").read_bytes())
    )
    for statement in (_camt(), _mt940(), report):
        verdict = check_statement(statement, known_accounts=ACCOUNTS, imported_sha256=set(), previous=None)
        assert verdict.accepted
        assert verdict.failures == ()


def test_the_mt940_of_17_march_continues_the_camt_of_14_march() -> None:
    result = check_continuity(_mt940().header, _camt().header)
    assert result.passed, result.reason


def test_an_unbalanced_statement_is_refused() -> None:
    data = (STATEMENTS / "camt053_BFML_770001_20250314.xml").read_bytes()
    unbalanced = data.replace(b'<Amt Ccy="XOF">16982500</Amt>', b'<Amt Ccy="XOF">16982000</Amt>', 1)
    statement = _camt(unbalanced)
    result = check_balance(statement)
    assert not result.passed
    assert result.refuses
    assert "closes at 16982000 (difference -500)" in result.reason
    verdict = check_statement(statement, known_accounts=ACCOUNTS, imported_sha256=set(), previous=None)
    assert not verdict.accepted


def test_declared_totals_that_do_not_match_the_entries_refuse_the_statement() -> None:
    data = (STATEMENTS / "camt053_BFML_770001_20250314.xml").read_bytes()
    statement = _camt(data.replace(b"<NbOfNtries>9</NbOfNtries>", b"<NbOfNtries>8</NbOfNtries>"))
    result = check_summary(statement)
    assert (result.passed, result.refuses) == (False, True)
    assert result.reason == "debit_count declared 8, counted 9"


def test_a_gap_in_sequence_and_balance_is_recorded_but_accepted() -> None:
    previous = dataclasses.replace(_camt().header, sequence_number=71, closing_balance=12_000_000)
    verdict = check_statement(_camt(), known_accounts=ACCOUNTS, imported_sha256=set(), previous=previous)
    [failure] = verdict.failures
    assert failure.check is Check.CONTINUITY
    assert failure.reason == (
        "sequence 73 follows 71: 1 statement(s) missing;"
        " opens at 12500000 but the previous statement closed at 12000000 (gap 500000)"
    )
    assert verdict.accepted


def test_a_file_already_imported_is_refused_by_its_hash() -> None:
    header = _camt().header
    result = check_duplicate_file(header, {header.file_sha256})
    assert (result.passed, result.refuses) == (False, True)
    assert header.file_sha256 in result.reason


def test_a_statement_of_an_unknown_account_is_refused() -> None:
    verdict = check_statement(_camt(), known_accounts={"70000001"}, imported_sha256=set(), previous=None)
    assert not verdict.accepted
    assert [failure.check for failure in verdict.failures] == [Check.ACCOUNT]
