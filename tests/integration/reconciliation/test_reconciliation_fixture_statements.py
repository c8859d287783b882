"""The three fixture statements imported through the API, classified line by line (PROVIDERS.md §8.5).

Expectations come from real `payments.instructed` and `payments.sent` events applied by the consumer's
inbox. The outcomes are written out by hand from the fixtures, with the reasoning of
tests/unit/reconciliation/test_fixture_statements_reconciliation.py: the bank and the Orange bulk portal
never call back, so the payments are SUBMITTED and the statement is the only evidence.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from reconciliation.use_cases import import_statement, rematch

STATEMENTS = Path(__file__).resolve().parents[2] / "fixtures" / "statements"
CAMT = STATEMENTS / "camt053_BFML_770001_20250314.xml"
MT940 = STATEMENTS / "mt940_BFML_770001_20250317.sta"
ORANGE = STATEMENTS / "operator_bulk_report_OM_BAT25Q1-OM01_20250314.csv"

pytestmark = pytest.mark.usefixtures("accounts")


@pytest.fixture(autouse=True, params=["default chunks", "two lines and two expectations at a time"])
def chunking(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every classification holds however the statement is streamed: in one chunk, or two lines at a time
    with two expectations judged at a time (every chunk and batch boundary crossed)."""
    if request.param != "default chunks":
        monkeypatch.setattr(import_statement, "CHUNK", 2)
        monkeypatch.setattr(rematch, "BATCH", 2)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def post_file(client: TestClient, token: str, path: Any, content_type: str) -> Any:
    answer = client.post(
        "/v1/statements", content=path.read_bytes(), headers={**bearer(token), "Content-Type": content_type}
    )
    assert answer.status_code == 201, answer.text
    [statement] = answer.json()["statements"]
    return statement


def lines(client: TestClient, token: str, statement_id: str) -> list[tuple[str, str, str | None]]:
    answer = client.get(f"/v1/statements/{statement_id}", headers=bearer(token))
    assert answer.status_code == 200, answer.text
    return [(line["line_id"], line["outcome"], line["reference"]) for line in answer.json()["lines"]]


def outcomes(engine: Engine) -> dict[str, str]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT instruction_id, outcome FROM reconciliation.expectation"))
        return {str(row[0]): str(row[1]) for row in rows}


def test_every_camt_line_of_14_march_is_classified_and_its_transfers_judged(
    client: TestClient, tokens: dict[str, str], instruct: Callable[[str, str], None], db: Engine
) -> None:
    instruct("bank", "bank")

    statement = post_file(client, tokens["operator"], CAMT, "application/xml")

    assert lines(client, tokens["auditor"], statement["statement_id"]) == [
        ("001", "UNMATCHED_CREDIT", None),
        ("002", "FUNDING_MATCHED", "BAT25Q1-OM01"),
        ("003", "FUNDING_MATCHED", "BAT25Q1-GS01"),
        ("004", "MATCHED", "PMT25Q1-000101"),
        ("005", "MATCHED", "PMT25Q1-000102"),
        ("006", "MATCHED", "PMT25Q1-000103"),
        ("007", "MATCHED", "PMT25Q1-000104"),
        ("008", "UNKNOWN_REFERENCE", None),
        ("009", "RETURN", "PMT25Q1-000103"),
        ("010", "FEE", None),
        ("011", "MATCHED", "PMT25Q1-000105"),
    ]
    assert outcomes(db) == {
        "PMT25Q1-000101": "MATCHED",
        "PMT25Q1-000102": "MATCHED",
        "PMT25Q1-000103": "RETURNED",
        "PMT25Q1-000104": "AMOUNT_MISMATCH",
        "PMT25Q1-000105": "MATCHED",
        "PMT25Q1-000106": "AWAITING_PROVIDER",
        "PMT25Q1-000107": "AWAITING_PROVIDER",
        "PMT25Q1-000108": "AWAITING_PROVIDER",
        "PMT25Q1-000109": "AWAITING_PROVIDER",
        "PMT25Q1-000110": "AWAITING_PROVIDER",
    }


def test_the_mt940_of_17_march_then_explains_every_bank_transfer(
    client: TestClient, tokens: dict[str, str], instruct: Callable[[str, str], None], db: Engine
) -> None:
    instruct("bank", "bank")
    post_file(client, tokens["operator"], CAMT, "application/xml")

    statement = post_file(client, tokens["operator"], MT940, "application/x-mt940")

    assert lines(client, tokens["auditor"], statement["statement_id"]) == [
        ("1", "FUNDING_MATCHED", "BAT25Q1-WV01"),
        ("2", "MATCHED", "PMT25Q1-000106"),
        ("3", "MATCHED", "PMT25Q1-000107"),
        ("4", "MATCHED", "PMT25Q1-000108"),
        ("5", "MATCHED", "PMT25Q1-000108"),
        ("6", "MATCHED", "PMT25Q1-000109"),
        ("7", "UNKNOWN_REFERENCE", None),
        ("8", "RETURN", "PMT25Q1-000107"),
        ("9", "FEE", None),
        ("10", "UNMATCHED_CREDIT", None),
        ("11", "MATCHED", "PMT25Q1-000110"),
    ]
    assert outcomes(db) == {
        "PMT25Q1-000101": "MATCHED",
        "PMT25Q1-000102": "MATCHED",
        "PMT25Q1-000103": "RETURNED",
        "PMT25Q1-000104": "AMOUNT_MISMATCH",
        "PMT25Q1-000105": "MATCHED",
        "PMT25Q1-000106": "MATCHED",
        "PMT25Q1-000107": "RETURNED",
        "PMT25Q1-000108": "DUPLICATE_SETTLEMENT",
        "PMT25Q1-000109": "MATCHED",
        "PMT25Q1-000110": "MATCHED",
    }
    assert [check["check"] for check in statement["checks"] if not check["passed"]] == []


def test_every_line_of_the_orange_report_is_classified_and_its_batch_explained(
    client: TestClient, tokens: dict[str, str], instruct: Callable[[str, str], None], db: Engine
) -> None:
    instruct("orange_bulk_csv", "orange_money")

    statement = post_file(client, tokens["operator"], ORANGE, "text/csv")

    assert lines(client, tokens["auditor"], statement["statement_id"]) == [
        ("1", "FUNDING_MATCHED", "BAT25Q1-OM01"),
        ("2", "MATCHED", "PMT25Q1-000041"),
        ("2-fee", "FEE", "PMT25Q1-000041"),
        ("3", "MATCHED", "PMT25Q1-000042"),
        ("3-fee", "FEE", "PMT25Q1-000042"),
        ("4", "MATCHED", "PMT25Q1-000043"),
        ("4-fee", "FEE", "PMT25Q1-000043"),
        ("5", "MATCHED", "PMT25Q1-000044"),
        ("6", "MATCHED", "PMT25Q1-000045"),
        ("6-fee", "FEE", "PMT25Q1-000045"),
        ("7", "MATCHED", "PMT25Q1-000046"),
        ("7-fee", "FEE", "PMT25Q1-000046"),
        ("8", "MATCHED", "PMT25Q1-000047"),
        ("8-fee", "FEE", "PMT25Q1-000047"),
        ("9", "UNKNOWN_REFERENCE", None),
        ("9-fee", "FEE", None),
        ("10", "REVERSAL", "PMT25Q1-000047"),
    ]
    assert outcomes(db) == {
        "PMT25Q1-000041": "MATCHED",
        "PMT25Q1-000042": "MATCHED",
        "PMT25Q1-000043": "MATCHED",
        "PMT25Q1-000044": "NO_MONEY_MOVED",
        "PMT25Q1-000045": "AMOUNT_MISMATCH",
        "PMT25Q1-000046": "MATCHED",
        "PMT25Q1-000047": "REVERSED",
        "PMT25Q1-000048": "MISSING_FROM_SETTLEMENT",
    }


def test_a_statement_imported_before_the_payments_events_matches_once_they_arrive(
    client: TestClient, tokens: dict[str, str], instruct: Callable[[str, str], None], db: Engine
) -> None:
    statement = post_file(client, tokens["operator"], ORANGE, "text/csv")
    assert lines(client, tokens["auditor"], statement["statement_id"])[1] == ("2", "UNKNOWN_REFERENCE", None)

    instruct("orange_bulk_csv", "orange_money")

    classified = lines(client, tokens["auditor"], statement["statement_id"])
    assert classified[1] == ("2", "MATCHED", "PMT25Q1-000041")
    assert classified[14] == ("9", "UNKNOWN_REFERENCE", None)
    assert outcomes(db)["PMT25Q1-000045"] == "AMOUNT_MISMATCH"
    with db.connect() as connection:
        still_open = connection.execute(
            text(
                "SELECT count(*) FROM reconciliation.discrepancy WHERE status = 'open' AND subject LIKE 'line:%'"
            )
        ).scalar_one()
    assert still_open == 1  # only PMT25Q1-000999's line: the others were explained by the late events
