"""MT940 read with the mt-940 package: marks, references, :86: details, balances — and broken lines named."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest

from reconciliation.statements.lines import Direction, LineKind, UnreadableStatement, WrongCurrency
from reconciliation.statements.mt940 import parse_mt940

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "statements" / "mt940_BFML_770001_20250317.sta"


def _fixture_bytes() -> bytes:
    return FIXTURE.read_bytes()


def test_the_header_carries_account_sequence_and_signed_balances() -> None:
    [statement] = parse_mt940(io.BytesIO(_fixture_bytes()))
    header = statement.header
    assert (header.account_id, header.statement_id, header.sequence_number) == (
        "ML06ML0990100100000077000145",
        "BFML250317STMT01",
        74,
    )
    assert (header.opening_balance, header.closing_balance) == (16_982_500, 18_681_000)
    assert (header.period_start, header.period_end) == (date(2025, 3, 14), date(2025, 3, 17))


def test_a_reversal_of_debit_is_money_coming_back() -> None:
    [statement] = parse_mt940(io.BytesIO(_fixture_bytes()))
    line = statement.lines[7]
    assert (line.raw_status, line.direction, line.amount) == ("RD", Direction.CREDIT, 30_000)
    assert (line.kind, line.our_ref, line.return_reason) == (LineKind.RETURN, "PMT25Q1-000107", "AC04")


def test_customer_and_bank_references_and_wrapped_details_are_read() -> None:
    [statement] = parse_mt940(io.BytesIO(_fixture_bytes()))
    line = statement.lines[3]
    assert (line.our_ref, line.provider_ref, line.counterparty_name) == (
        "PMT25Q1-000108",
        "B250317000004",
        "MAH SACKO",
    )
    assert line.details == "/EREF/PMT25Q1-000108 /BENEF/MAH SACKO /REMI/PFS 2025Q1 TRANSFERT MONETAIRE"


def test_nonref_leaves_no_reference_and_charges_are_fees() -> None:
    [statement] = parse_mt940(io.BytesIO(_fixture_bytes()))
    assert (statement.lines[6].our_ref, statement.lines[6].kind) == (None, LineKind.PAYMENT)
    assert (statement.lines[8].our_ref, statement.lines[8].kind) == (None, LineKind.FEE)
    assert statement.lines[9].kind is LineKind.FUNDING


def test_a_reversal_of_credit_without_return_code_is_a_reversal_debit() -> None:
    data = _fixture_bytes().replace(b":61:2503170317C2000000,NTRF", b":61:2503170317RC2000000,NMSC")
    [statement] = parse_mt940(io.BytesIO(data))
    line = statement.lines[9]
    assert (line.kind, line.direction) == (LineKind.REVERSAL, Direction.DEBIT)


def test_a_broken_statement_line_is_named_by_its_file_line() -> None:
    data = _fixture_bytes().replace(
        b":61:2503170317D30000,NTRFPMT25Q1-000107", b":61:2503170317X30000,NTRFPMT25Q1-000107"
    )
    with pytest.raises(UnreadableStatement, match=r"MT940 line 11: cannot read :61: '2503170317X30000,"):
        parse_mt940(io.BytesIO(data))


def test_an_impossible_date_on_a_statement_line_is_named_by_its_file_line() -> None:
    data = _fixture_bytes().replace(
        b":61:2503170317D30000,NTRFPMT25Q1-000109", b":61:2513170317D30000,NTRFPMT25Q1-000109"
    )
    with pytest.raises(UnreadableStatement, match="MT940 line 20: :61: starts with an impossible date"):
        parse_mt940(io.BytesIO(data))


def test_a_statement_in_another_currency_is_refused() -> None:
    with pytest.raises(WrongCurrency):
        parse_mt940(io.BytesIO(_fixture_bytes().replace(b"XOF", b"EUR")))


def test_a_file_without_a_message_is_refused() -> None:
    with pytest.raises(UnreadableStatement, match="no :20: tag"):
        parse_mt940(io.BytesIO(b"hello"))
