"""The cycle summary, its discrepancies and their resolution, and the auditor exports whose totals equal it."""

from __future__ import annotations

import csv
import io
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine, text

STATEMENTS = Path(__file__).resolve().parents[2] / "fixtures" / "statements"
CAMT = STATEMENTS / "camt053_BFML_770001_20250314.xml"
MT940 = STATEMENTS / "mt940_BFML_770001_20250317.sta"
ORANGE = STATEMENTS / "operator_bulk_report_OM_BAT25Q1-OM01_20250314.csv"
CYCLE = uuid.UUID("2025a000-0000-4000-8000-000000000001")  # the cycle of the fixture instructions

pytestmark = pytest.mark.usefixtures("accounts")

BUCKETS = ("settled", "failed", "cancelled", "reversed", "unmatched", "awaiting")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def reconciled(
    client: TestClient, tokens: dict[str, str], instruct: Callable[[str, str], None], accounts: None
) -> None:
    """Both fixture channels instructed, the camt.053 of 14 March and the Orange report imported."""
    instruct("bank", "bank")
    instruct("orange_bulk_csv", "orange_money")
    for path, content_type in ((CAMT, "application/xml"), (ORANGE, "text/csv")):
        answer = client.post(
            "/v1/statements",
            content=path.read_bytes(),
            headers={**bearer(tokens["operator"]), "Content-Type": content_type},
        )
        assert answer.status_code == 201, answer.text


def summary(client: TestClient, token: str) -> dict[str, Any]:
    answer = client.get(f"/v1/cycles/{CYCLE}/reconciliation", headers=bearer(token))
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


@pytest.mark.usefixtures("reconciled")
def test_the_cycle_summary_counts_every_instruction_once_in_its_outcome(
    client: TestClient, tokens: dict[str, str]
) -> None:
    total = summary(client, tokens["auditor"])["total"]

    # settled: 101, 102, 105, 041, 042, 043, 046 at 30 000; 104 paid 35 000, 045 paid 25 000; returned,
    # reversed, failed and missing ones left nothing out
    assert total["planned"] == {"count": 18, "amount": 540_000, "settled_amount": 270_000}
    assert total["instructed"]["count"] == 18
    assert {bucket: total[bucket]["count"] for bucket in BUCKETS} == {
        "settled": 7,  # 101, 102, 105, 041, 042, 043, 046
        "failed": 1,  # 044 (Echec)
        "cancelled": 0,
        "reversed": 2,  # 103 returned, 047 reversed
        "unmatched": 3,  # 104 and 045 amount mismatch, 048 missing
        "awaiting": 5,  # 106 to 110, due on 17 March
    }
    assert sum(total[bucket]["amount"] for bucket in BUCKETS) == total["planned"]["amount"]


@pytest.mark.usefixtures("reconciled")
def test_the_summary_breaks_down_by_provider_region_and_modality(
    client: TestClient, tokens: dict[str, str]
) -> None:
    document = summary(client, tokens["operator"])

    assert document["by_provider"]["bank"]["planned"]["count"] == 10
    assert document["by_provider"]["orange_money"]["planned"]["count"] == 8
    assert document["by_region"]["Kayes"]["settled"]["count"] == 4
    assert document["by_commune"]["Pelengana"]["awaiting"]["count"] == 5
    assert document["by_modality"]["mobile_money"]["planned"]["amount"] == 540_000
    assert document["vouchers"]["issued"] == {"count": 0, "amount": 0}


@pytest.mark.usefixtures("reconciled")
def test_discrepancies_of_a_cycle_are_listed_by_category(client: TestClient, tokens: dict[str, str]) -> None:
    answer = client.get(
        f"/v1/cycles/{CYCLE}/discrepancies",
        params={"category": "AMOUNT_MISMATCH"},
        headers=bearer(tokens["auditor"]),
    )

    assert answer.status_code == 200
    assert sorted(
        (item["instruction_id"], item["severity"], item["amount_at_stake"]) for item in answer.json()["items"]
    ) == [
        ("PMT25Q1-000045", "critical", 5_000),
        ("PMT25Q1-000104", "critical", 5_000),
    ]


@pytest.mark.usefixtures("reconciled")
def test_an_operator_resolves_a_discrepancy_with_a_reason_and_auditors_see_who_and_when(
    client: TestClient, tokens: dict[str, str], db: Engine
) -> None:
    [item] = client.get(
        f"/v1/cycles/{CYCLE}/discrepancies",
        params={"category": "RETURNED"},
        headers=bearer(tokens["auditor"]),
    ).json()["items"]

    resolved = client.post(
        f"/v1/discrepancies/{item['discrepancy_id']}/resolution",
        json={"reason": "AC04: account closed; re-issued as PMT25Q1-000203"},
        headers=bearer(tokens["operator"]),
    )
    again = client.post(
        f"/v1/discrepancies/{item['discrepancy_id']}/resolution",
        json={"reason": "twice"},
        headers=bearer(tokens["operator"]),
    )
    without_reason = client.post(
        f"/v1/discrepancies/{item['discrepancy_id']}/resolution",
        json={"reason": ""},
        headers=bearer(tokens["operator"]),
    )

    assert resolved.status_code == 200, resolved.text
    assert again.status_code == 409
    assert without_reason.status_code == 422
    [seen] = client.get(
        f"/v1/cycles/{CYCLE}/discrepancies",
        params={"category": "RETURNED"},
        headers=bearer(tokens["auditor"]),
    ).json()["items"]
    assert (seen["status"], seen["resolved_by"], seen["resolution"]) == (
        "resolved",
        "operator-user",
        "AC04: account closed; re-issued as PMT25Q1-000203",
    )
    assert seen["resolved_at"] is not None
    with db.connect() as connection:
        published = list(
            connection.execute(text("SELECT type FROM reconciliation.outbox ORDER BY type")).scalars()
        )
    assert "discrepancy.resolved" in published
    assert "statement.reconciled" in published
    assert "discrepancies.found" in published
    assert published.count("audit.recorded") >= 3  # two imports, one resolution (plus the setup)


def bucket_totals(rows: list[dict[str, Any]]) -> dict[str, list[int]]:
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        totals[row["bucket"]][0] += 1
        totals[row["bucket"]][1] += int(row["amount"])
    return dict(totals)


def expected_totals(document: dict[str, Any]) -> dict[str, list[int]]:
    return {
        bucket: [document["total"][bucket]["count"], document["total"][bucket]["amount"]]
        for bucket in BUCKETS
        if document["total"][bucket]["count"]
    }


@pytest.mark.usefixtures("reconciled")
def test_every_export_adds_up_to_the_summary(client: TestClient, tokens: dict[str, str]) -> None:
    document = summary(client, tokens["auditor"])
    as_json = client.get(f"/v1/cycles/{CYCLE}/report.json", headers=bearer(tokens["auditor"])).json()
    as_csv = client.get(f"/v1/cycles/{CYCLE}/report.csv", headers=bearer(tokens["auditor"]))
    as_xlsx = client.get(f"/v1/cycles/{CYCLE}/report.xlsx", headers=bearer(tokens["auditor"]))

    assert as_json["summary"] == document
    assert bucket_totals(as_json["instructions"]) == expected_totals(document)
    assert bucket_totals(list(csv.DictReader(io.StringIO(as_csv.text)))) == expected_totals(document)
    book = load_workbook(io.BytesIO(as_xlsx.content))
    summary_rows = {
        row[0]: row[1:] for row in book["Summary"].iter_rows(values_only=True) if row and row[0] in BUCKETS
    }
    assert {
        bucket: [count, amount] for bucket, (count, amount, _) in summary_rows.items() if count
    } == expected_totals(document)
    from_sheets = {}
    for bucket in BUCKETS:
        header, *rows = list(book[bucket].iter_rows(values_only=True))
        if rows:
            at = header.index("amount")
            assert all(isinstance(row[at], int) for row in rows)
            assert all(isinstance(row[header.index("instructed_on")], date) for row in rows)
            from_sheets[bucket] = [len(rows), sum(int(str(row[at])) for row in rows)]
    assert from_sheets == expected_totals(document)


@pytest.mark.usefixtures("reconciled")
def test_auditors_see_mobile_numbers_masked_to_their_last_four_digits_and_operators_in_full(
    client: TestClient, tokens: dict[str, str]
) -> None:
    def payee_of(role: str, instruction_id: str) -> str:
        rows = client.get(f"/v1/cycles/{CYCLE}/report.json", headers=bearer(tokens[role])).json()[
            "instructions"
        ]
        return str(next(row["payee"] for row in rows if row["instruction_id"] == instruction_id))

    csv_for_auditor = client.get(f"/v1/cycles/{CYCLE}/report.csv", headers=bearer(tokens["auditor"])).text

    assert payee_of("auditor", "PMT25Q1-000041") == "********0041"
    assert payee_of("operator", "PMT25Q1-000041") == "+22376550041"
    assert "+22376550041" not in csv_for_auditor
    assert "********0041" in csv_for_auditor


def test_the_summary_of_an_unknown_cycle_is_404(client: TestClient, tokens: dict[str, str]) -> None:
    answer = client.get(f"/v1/cycles/{CYCLE}/reconciliation", headers=bearer(tokens["auditor"]))

    assert answer.status_code == 404
