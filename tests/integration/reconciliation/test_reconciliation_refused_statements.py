"""Statements refused as a whole, with the reason; the same file twice; a body over the size limit."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from reconciliation.api.app import create_app
from shared.settings import Settings

STATEMENTS = Path(__file__).resolve().parents[2] / "fixtures" / "statements"
CAMT = STATEMENTS / "camt053_BFML_770001_20250314.xml"
MT940 = STATEMENTS / "mt940_BFML_770001_20250317.sta"
ORANGE = STATEMENTS / "operator_bulk_report_OM_BAT25Q1-OM01_20250314.csv"

pytestmark = pytest.mark.usefixtures("accounts")

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>&lol4;</BkToCstmrStmt></Document>
"""


def post(client: TestClient, token: str, body: bytes, content_type: str, **params: str) -> Any:
    return client.post(
        "/v1/statements",
        content=body,
        params=params,
        headers={"Authorization": f"Bearer {token}", "Content-Type": content_type},
    )


def nothing_imported(engine: Engine) -> bool:
    with engine.connect() as connection:
        counts = connection.execute(
            text(
                "SELECT (SELECT count(*) FROM reconciliation.statement)"
                " + (SELECT count(*) FROM reconciliation.statement_line)"
                " + (SELECT count(*) FROM reconciliation.discrepancy)"
            )
        ).scalar_one()
    return int(counts) == 0


@pytest.mark.parametrize(
    ("body", "content_type", "code", "says"),
    [
        (CAMT.read_bytes()[:1500], "application/xml", "unreadable_statement", "not well-formed"),
        (b"<Document><unclosed></Document>", "application/xml", "unreadable_statement", "not well-formed"),
        (BOMB, "application/xml", "unreadable_statement", ""),
        (CAMT.read_bytes().replace(b'Ccy="XOF"', b'Ccy="EUR"'), "application/xml", "wrong_currency", "EUR"),
        (
            CAMT.read_bytes().replace(b'<Amt Ccy="XOF">16982500</Amt>', b'<Amt Ccy="XOF">16982000</Amt>', 1),
            "application/xml",
            "statement_refused",
            "closes at 16982000",
        ),
        (
            CAMT.read_bytes().replace(b"ML06ML0990100100000077000145", b"ML99ML0990100100000099999999"),
            "application/xml",
            "statement_refused",
            "not a known programme account",
        ),
        (
            MT940.read_bytes().replace(
                b":61:2503170317D30000,NTRFPMT25Q1-000106", b":61:25AB17D30000,NTRFPMT25Q1-000106"
            ),
            "application/x-mt940",
            "unreadable_statement",
            ":61:",
        ),
        (
            ORANGE.read_bytes().replace(b"Statut", b"Etat du paiement"),
            "text/csv",
            "unreadable_statement",
            "unknown: Etat du paiement",
        ),
    ],
    ids=[
        "truncated-xml",
        "malformed-xml",
        "xml-bomb",
        "wrong-currency",
        "unbalanced",
        "unknown-account",
        "mt940-broken-61",
        "csv-unknown-columns",
    ],
)
def test_a_bad_statement_is_refused_as_a_whole_with_its_reason(
    client: TestClient,
    tokens: dict[str, str],
    db: Engine,
    body: bytes,
    content_type: str,
    code: str,
    says: str,
) -> None:
    answer = post(client, tokens["operator"], body, content_type)

    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == code
    assert says in answer.json()["error"]["message"]
    assert nothing_imported(db)


def test_the_same_statement_twice_is_refused_the_second_time_and_changes_nothing(
    client: TestClient, tokens: dict[str, str], db: Engine
) -> None:
    first = post(client, tokens["operator"], CAMT.read_bytes(), "application/xml")
    assert first.status_code == 201
    with db.connect() as connection:
        before = connection.execute(text("SELECT count(*) FROM reconciliation.statement_line")).scalar_one()

    again = post(client, tokens["operator"], CAMT.read_bytes(), "application/xml", format="camt.053")

    assert again.status_code == 409
    assert again.json()["error"]["code"] == "duplicate_statement"
    with db.connect() as connection:
        after = connection.execute(text("SELECT count(*) FROM reconciliation.statement_line")).scalar_one()
    assert after == before == 11


def test_the_same_statement_sent_twice_at_once_is_imported_once(
    client: TestClient, tokens: dict[str, str], db: Engine
) -> None:
    body = ORANGE.read_bytes()
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(
            pool.map(lambda _: post(client, tokens["operator"], body, "text/csv").status_code, range(2))
        )

    assert sorted(answers) == [201, 409]
    with db.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM reconciliation.statement")).scalar_one() == 1


@pytest.fixture
def small_client(db: Engine, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings.model_copy(update={"max_body_bytes": 4096}), db)) as client:
        yield client


def test_a_statement_over_the_size_limit_is_refused_with_413(
    small_client: TestClient, tokens: dict[str, str], db: Engine
) -> None:
    declared = post(small_client, tokens["operator"], CAMT.read_bytes(), "application/xml")

    def chunks() -> Iterator[bytes]:
        body = CAMT.read_bytes()
        for start in range(0, len(body), 1000):
            yield body[start : start + 1000]

    streamed = small_client.post(
        "/v1/statements",
        content=chunks(),
        headers={"Authorization": f"Bearer {tokens['operator']}", "Content-Type": "application/xml"},
    )

    assert declared.status_code == 413
    assert streamed.status_code == 413
    assert streamed.json()["error"]["code"] == "statement_too_large"
    assert nothing_imported(db)


def test_a_statement_of_an_unknown_format_is_refused_with_415(
    client: TestClient, tokens: dict[str, str]
) -> None:
    answer = post(client, tokens["operator"], CAMT.read_bytes(), "application/octet-stream")

    assert answer.status_code == 415
    assert "format" in answer.json()["error"]["message"]
