"""Orange-style bulk payments: the upload file we write and the operator report we read back."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest

from payments.domain.payments import Authenticity, Discrepancy, FailureCode, Payment, PaymentState
from payments.providers.events import Instruction
from payments.providers.orange_bulk import parse_bulk_report, write_bulk_file
from shared.errors import InvalidInput
from shared.money import xof

FIXTURES = Path(__file__).parents[2] / "fixtures"
REPORT = FIXTURES / "statements" / "operator_bulk_report_OM_BAT25Q1-OM01_20250314.csv"
RECEIVED_AT = datetime(2025, 3, 15, 8, 0, tzinfo=UTC)
S = PaymentState


def instruction(reference: str, msisdn: str = "+22376550041", name: str = "Nana Coulibaly") -> Instruction:
    return Instruction(
        reference=reference, provider_request_key=uuid4(), amount=30_000, payee_msisdn=msisdn, payee_name=name
    )


def test_the_upload_file_lists_national_numbers_amounts_and_our_references() -> None:
    raw = write_bulk_file(
        [instruction("J26Q1-000041"), instruction("J26Q1-000042", "+22376550042", "Oumou Sow")]
    )

    rows = list(csv.reader(io.StringIO(raw.decode("utf-8")), delimiter=";"))
    assert rows[0][:5] == ["N°", "N° de Compte", "Montant", "Devise", "Référence partenaire"]
    assert rows[1][:5] == ["1", "76550041", "30000", "XOF", "J26Q1-000041"]
    assert rows[2][1:3] == ["76550042", "30000"]


def test_a_name_cannot_break_the_file_or_run_as_a_spreadsheet_formula() -> None:
    raw = write_bulk_file([instruction("J26Q1-000041", name='=HYPERLINK("x");\nSow')])

    rows = list(csv.reader(io.StringIO(raw.decode("utf-8")), delimiter=";"))
    assert len(rows) == 2
    assert rows[1][5].startswith("'=")


def test_a_number_that_is_not_malian_is_refused_before_upload() -> None:
    with pytest.raises(InvalidInput):
        write_bulk_file([instruction("J26Q1-000041", msisdn="+22176550041")])


def test_the_operator_report_becomes_one_event_per_payment_line() -> None:
    report = parse_bulk_report(REPORT.read_bytes(), received_at=RECEIVED_AT)

    statuses = [(event.instruction_id, event.status) for event in report.events]
    assert statuses == [
        ("PMT25Q1-000041", S.SUCCEEDED),
        ("PMT25Q1-000042", S.SUCCEEDED),
        ("PMT25Q1-000043", S.SUCCEEDED),
        ("PMT25Q1-000044", S.FAILED),
        ("PMT25Q1-000045", S.SUCCEEDED),
        ("PMT25Q1-000046", S.SUCCEEDED),
        ("PMT25Q1-000047", S.SUCCEEDED),
        ("PMT25Q1-000999", S.SUCCEEDED),
        ("PMT25Q1-000047", S.REVERSED),
    ]
    assert [line.line_no for line in report.skipped] == [9]  # the float top-up (Approvisionnement)
    assert all(event.authenticity is Authenticity.OPERATOR_REPORT for event in report.events)


def test_report_lines_carry_operator_reference_amount_fee_payee_and_time() -> None:
    first, *_, reversal = parse_bulk_report(REPORT.read_bytes(), received_at=RECEIVED_AT).events

    assert (first.event_key, first.provider_tx_ref, first.amount, first.fee) == (
        "orange-bulk:BP250314.0915.B10041",
        "BP250314.0915.B10041",
        30_000,
        150,
    )
    assert first.payee == "+22376550041"
    assert first.provider_event_time == datetime(2025, 3, 14, 9, 15, 2, tzinfo=UTC)
    assert (reversal.provider_tx_ref, reversal.amount) == ("BP250314.0915.B10047", 30_000)


def test_a_failed_line_says_why_in_canonical_terms() -> None:
    failed = next(
        event
        for event in parse_bulk_report(REPORT.read_bytes(), received_at=RECEIVED_AT).events
        if event.status is S.FAILED
    )

    assert failed.failure_code is FailureCode.RECIPIENT_NOT_FOUND
    assert failed.raw_message == "Compte destinataire inexistant"


def test_applying_the_report_flags_the_short_payment_and_reverses_the_cancelled_one() -> None:
    events = parse_bulk_report(REPORT.read_bytes(), received_at=RECEIVED_AT).events
    payments = {
        reference: Payment(instruction_id=reference, amount=xof(30_000), state=S.SUBMITTED)
        for reference in ("PMT25Q1-000045", "PMT25Q1-000047")
    }
    discrepancies = []
    for event in events:
        if event.instruction_id in payments:
            outcome = payments[event.instruction_id].apply(event)
            payments[event.instruction_id] = outcome.payment
            discrepancies.append(outcome.discrepancy)

    assert payments["PMT25Q1-000045"].state is S.SUCCEEDED
    assert payments["PMT25Q1-000047"].state is S.REVERSED
    assert Discrepancy.AMOUNT_MISMATCH in discrepancies


def test_a_report_exported_in_windows_1252_reads_the_same() -> None:
    utf8 = REPORT.read_bytes()

    assert parse_bulk_report(
        utf8.decode("utf-8").encode("cp1252"), received_at=RECEIVED_AT
    ) == parse_bulk_report(utf8, received_at=RECEIVED_AT)


@pytest.mark.parametrize("raw", [b"", b"\x00\xff\xfe garbage", b"N\xc2\xb0;Date\n1;2", b"<html>nope</html>"])
def test_a_report_that_is_not_a_report_gives_no_events_and_says_why(raw: bytes) -> None:
    report = parse_bulk_report(raw, received_at=RECEIVED_AT)

    assert report.events == ()
    assert report.skipped
