"""Vendors' redemption reports: French headers, `;`, preamble and totals; bad rows set aside, bad files refused."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest

from reconciliation.redemptions.report import (
    Coverage,
    RedemptionReportTooLarge,
    UnreadableRedemptionReport,
    voucher_code,
)
from reconciliation.redemptions.vendor_csv import parse_vendor_csv
from reconciliation.statements.lines import WrongCurrency


def code(body: str) -> str:
    """The valid voucher code of 15 digits: the one check digit the reader accepts."""
    valid = []
    for digit in "0123456789":
        try:
            valid.append(voucher_code(body + digit))
        except ValueError:
            continue
    assert len(valid) == 1
    return valid[0]


A = code("482109375521806")
B = code("100000000000001")
C = code("777000111222333")


def grouped(digits: str) -> str:
    return "-".join(digits[at : at + 4] for at in range(0, 16, 4))


def mistyped(digits: str) -> str:
    return digits[:-1] + str((int(digits[-1]) + 1) % 10)


def read(text: str, *, encoding: str = "utf-8", max_bytes: int = 1 << 20):  # type: ignore[no-untyped-def]
    return parse_vendor_csv(io.BytesIO(text.encode(encoding)), max_bytes=max_bytes)


REPORT = f"""Rapport de remboursement des bons
Commerçant;BOUTIQUE-KATI-01
Période;01/04/2026;30/04/2026
Devise;XOF
Commerçant;Code du bon;Montant;Date;Heure;N° de reçu
BOUTIQUE-KATI-01;{grouped(A)};30 000;02/04/2026;10:15;R-0001
BOUTIQUE-KATI-01;{B};25000;03/04/2026;;R-0002
Nombre de bons;2
Total;55 000
"""


def test_a_french_report_with_semicolons_preamble_and_totals_is_read() -> None:
    report = read(REPORT)

    assert [(line.vendor_id, line.code, line.amount, line.receipt) for line in report.redemptions] == [
        ("BOUTIQUE-KATI-01", A, 30_000, "R-0001"),
        ("BOUTIQUE-KATI-01", B, 25_000, "R-0002"),
    ]
    assert report.redemptions[0].redeemed_at == datetime(2026, 4, 2, 10, 15, tzinfo=UTC)
    assert report.redemptions[1].redeemed_at == datetime(2026, 4, 3, tzinfo=UTC)
    assert [line.row for line in report.redemptions] == [6, 7]
    assert report.rejected == []
    assert (report.period_start, report.period_end) == (date(2026, 4, 1), date(2026, 4, 30))
    assert report.coverage == [Coverage("BOUTIQUE-KATI-01", date(2026, 4, 1), date(2026, 4, 30))]


def test_headers_are_compared_without_case_accents_or_spaces_and_windows_1252_is_read() -> None:
    text = (
        "COMMERCANT ; code  du BON;montant;date\n"
        f"V-1;{A};30 000;2026-04-02T09:30:00+00:00\n"
        f"V-2;{B};15 000;02/04/2026 11:00\n"
    )

    report = read(text, encoding="cp1252")

    assert [(line.vendor_id, line.amount) for line in report.redemptions] == [
        ("V-1", 30_000),
        ("V-2", 15_000),
    ]
    assert report.redemptions[1].redeemed_at == datetime(2026, 4, 2, 11, 0, tzinfo=UTC)
    assert report.coverage == [
        Coverage("V-1", date(2026, 4, 2), date(2026, 4, 2)),
        Coverage("V-2", date(2026, 4, 2), date(2026, 4, 2)),
    ]


def test_a_comma_separated_report_with_english_headers_is_read() -> None:
    report = read(f"Vendor id,Voucher code,Amount,Redeemed at\nV-1,{A},30000,2026-04-02 10:00\n")

    assert [(line.vendor_id, line.code, line.amount) for line in report.redemptions] == [("V-1", A, 30_000)]


def test_bad_rows_are_set_aside_with_their_reason_and_the_rest_is_read() -> None:
    text = (
        "Commerçant;Code du bon;Montant;Date\n"
        f"V-1;{A};30 000;02/04/2026\n"
        f"V-1;{mistyped(B)};30 000;02/04/2026\n"
        "V-1;1234;30 000;02/04/2026\n"
        f"V-1;{C};30 000,50;02/04/2026\n"
        f"V-1;{C};0;02/04/2026\n"
        f"V-1;{C};30 000;31/02/2026\n"
        f";{C};30 000;02/04/2026\n"
        f"V-1;{C};30 000;02/04/2026;extra\n"
    )

    report = read(text)

    assert [line.code for line in report.redemptions] == [A]
    reasons = {row.row: row.reason for row in report.rejected}
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8, 9]
    assert "check digit" in reasons[3]
    assert "16 digits" in reasons[4]
    assert "whole number of francs" in reasons[5]
    assert "positive" in reasons[6]
    assert "not a date" in reasons[7]
    assert "no vendor" in reasons[8]
    assert "5 cells where the header has 4" in reasons[9]
    assert report.rejected[0].cells == ("V-1", mistyped(B), "30 000", "02/04/2026")


def test_a_row_of_another_vendor_or_outside_the_period_of_a_vendor_report_is_rejected() -> None:
    text = (
        "Commerçant;V-1\nPériode;01/04/2026 au 15/04/2026\n"
        "Code du bon;Montant;Date;Commerçant\n"
        f"{A};30 000;02/04/2026;\n"
        f"{B};30 000;02/04/2026;V-2\n"
        f"{C};30 000;20/04/2026;V-1\n"
    )

    report = read(text)

    assert [(line.code, line.vendor_id) for line in report.redemptions] == [(A, "V-1")]
    assert "vendor 'V-2' in a report of vendor 'V-1'" in report.rejected[0].reason
    assert "outside the report's period" in report.rejected[1].reason


def test_a_vendor_report_of_a_period_with_no_redemption_still_covers_it() -> None:
    report = read(
        "Commerçant;V-1\nPériode;01/04/2026;30/04/2026\nCode du bon;Montant;Date\nNombre de bons;0\n"
    )

    assert report.redemptions == []
    assert report.coverage == [Coverage("V-1", date(2026, 4, 1), date(2026, 4, 30))]


def test_totals_under_the_amount_column_are_read_there() -> None:
    report = read(f"Commerçant;Code du bon;Montant;Date\nV-1;{A};30 000;02/04/2026\nTotal;;30 000;\n")

    assert len(report.redemptions) == 1


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("Commerçant;Bon;Somme\nV-1;x;1\n", "no header row"),
        (
            f"Commerçant;Code du bon;Montant;Date;Couleur\nV-1;{A};30 000;02/04/2026;bleu\n",
            "unknown: Couleur",
        ),
        (f"Commerçant;Code du bon;Montant\nV-1;{A};30 000\n", "missing: date"),
        (
            f"Code du bon;Montant;Date\n{A};30 000;02/04/2026\n",
            "no vendor column and no vendor in the preamble",
        ),
        (
            f"Commerçant;Code du bon;Montant;Date\nV-1;{A};30 000;02/04/2026\nTotal;40 000\n",
            "the totals do not",
        ),
        (f"Commerçant;Code du bon;Montant;Date\nV-1;{A};30 000;02/04/2026\nNombre de bons;2\n", "count of 2"),
        ("Commerçant;Code du bon;Montant;Date\nV-1;1234;30 000;02/04/2026\n", "not a single row"),
        (
            f"Période;bientôt\nCommerçant;Code du bon;Montant;Date\nV-1;{A};30 000;02/04/2026\n",
            "names no date",
        ),
    ],
    ids=[
        "no-header",
        "unknown-column",
        "missing-column",
        "no-vendor",
        "amount-total",
        "count-total",
        "no-row",
        "period",
    ],
)
def test_a_malformed_report_is_refused_whole_with_the_reason(text: str, says: str) -> None:
    with pytest.raises(UnreadableRedemptionReport) as refused:
        read(text)

    assert says in refused.value.message


def test_the_count_total_still_checks_a_report_with_rejected_rows() -> None:
    text = (
        f"Commerçant;Code du bon;Montant;Date\nV-1;{A};30 000;02/04/2026\nV-1;{mistyped(B)};1;02/04/2026\n"
        "Nombre de bons;2\nTotal;30 001\n"
    )

    report = read(text)

    assert (len(report.redemptions), len(report.rejected)) == (1, 1)


def test_a_report_in_another_currency_is_refused() -> None:
    with pytest.raises(WrongCurrency):
        read(f"Devise;EUR\nCommerçant;Code du bon;Montant;Date\nV-1;{A};30;02/04/2026\n")


def test_a_report_over_the_size_limit_is_refused() -> None:
    with pytest.raises(RedemptionReportTooLarge):
        read(REPORT, max_bytes=100)


def test_the_same_bytes_have_the_same_fingerprint_and_others_do_not() -> None:
    assert read(REPORT).file_sha256 == read(REPORT).file_sha256
    assert read(REPORT).file_sha256 != read(REPORT.replace("R-0002", "R-0003")).file_sha256
