"""Operator CSV reports read through a column mapping: preamble, totals, statuses, fees — and misfits refused."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest

from reconciliation.statements.lines import (
    Direction,
    LineKind,
    LineStatus,
    TransactionSummary,
    UnreadableStatement,
)
from reconciliation.statements.operator_csv import ORANGE_MONEY_BULK, parse_operator_csv

FIXTURE = (
    Path(__file__).resolve().parents[2]
    / "fixtures"
    / "statements"
    / "operator_bulk_report_OM_BAT25Q1-OM01_20250314.csv"
)

SMALL_REPORT = """Rapport
Compte,70000002
Solde initial,"1 000"

N°,Date,Heure,Référence,Type d'opération,Service,N° de Compte,Nom du bénéficiaire,Débit,Crédit,Frais,Solde,Statut,Référence partenaire,Motif
1,14/03/2025,09:00:00,R1,Transfert,Bulk,22376550041,A,500,,0,500,SUCCES,PMT25Q1-000041,

Solde final,500
"""


def test_the_fixture_report_yields_its_header_and_totals() -> None:
    statement = parse_operator_csv(io.BytesIO(FIXTURE.read_bytes()))
    header = statement.header
    assert (header.account_id, header.opening_balance, header.closing_balance) == ("70000001", 20_000, 83_975)
    assert (header.period_start, header.period_end) == (date(2025, 3, 14), date(2025, 3, 14))
    assert header.summary == TransactionSummary(credit_sum=270_000, debit_sum=205_000, fee_sum=1_025)


def test_a_failed_row_is_kept_but_moves_no_money() -> None:
    statement = parse_operator_csv(io.BytesIO(FIXTURE.read_bytes()))
    failed = next(line for line in statement.lines if line.our_ref == "PMT25Q1-000044")
    assert (failed.status, failed.raw_status, failed.booked) == (LineStatus.FAILED, "Echec", False)
    assert failed.counterparty_msisdn == "+22376550044"


def test_a_fee_becomes_its_own_fee_line_tied_to_the_payment() -> None:
    statement = parse_operator_csv(io.BytesIO(FIXTURE.read_bytes()))
    fee = next(line for line in statement.lines if line.line_id == "6-fee")
    assert (fee.kind, fee.direction, fee.amount, fee.our_ref) == (
        LineKind.FEE,
        Direction.DEBIT,
        125,
        "PMT25Q1-000045",
    )


def test_a_cancellation_row_is_a_reversal_credit() -> None:
    statement = parse_operator_csv(io.BytesIO(FIXTURE.read_bytes()))
    cancelled = statement.lines[-1]
    assert (cancelled.kind, cancelled.direction, cancelled.our_ref) == (
        LineKind.REVERSAL,
        Direction.CREDIT,
        "PMT25Q1-000047",
    )


def test_a_comma_separated_report_with_thousand_separators_and_other_spellings_is_read() -> None:
    statement = parse_operator_csv(io.BytesIO(SMALL_REPORT.encode("cp1252")))
    [line] = statement.lines
    assert (statement.header.account_id, statement.header.opening_balance) == ("70000002", 1000)
    assert (line.amount, line.status, line.counterparty_msisdn) == (500, LineStatus.BOOKED, "+22376550041")


def test_an_unknown_column_is_refused_by_name() -> None:
    data = FIXTURE.read_bytes().replace(b"Motif", b"Canal")
    with pytest.raises(UnreadableStatement, match="unknown: Canal; missing: none"):
        parse_operator_csv(io.BytesIO(data))


def test_a_missing_column_is_refused_by_name() -> None:
    data = FIXTURE.read_bytes().replace("Référence partenaire".encode(), b"Ref")
    with pytest.raises(UnreadableStatement, match="unknown: Ref; missing: our_ref"):
        parse_operator_csv(io.BytesIO(data))


def test_an_unknown_status_is_refused_with_its_line() -> None:
    data = FIXTURE.read_bytes().replace(b";Echec;", b";Bizarre;")
    with pytest.raises(UnreadableStatement, match="line 13: unknown status 'Bizarre'"):
        parse_operator_csv(io.BytesIO(data))


def test_a_report_without_its_header_row_is_refused() -> None:
    with pytest.raises(UnreadableStatement, match="no header row"):
        parse_operator_csv(io.BytesIO(b"Compte;1\nSolde initial;0\n"))


def test_a_mapping_can_name_the_account_when_the_report_does_not() -> None:
    data = FIXTURE.read_bytes().replace(b"Compte;70000001\r\n", b"").replace(b"Compte;70000001\n", b"")
    statement = parse_operator_csv(io.BytesIO(data), ORANGE_MONEY_BULK, account_id="OM-BULK")
    assert statement.header.account_id == "OM-BULK"
