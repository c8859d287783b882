"""A statement is imported as a stream, a few lines at a time, yet never half-imported.

The import stages each chunk of lines as it is read and matches each statement once read to its end; a
refusal or an unreadable part found after several chunks, or in a later statement of the same file,
must still leave nothing of the file: no statement, no line, no discrepancy, no outcome, no event.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from reconciliation.db.unit_of_work import ReconciliationUnitOfWork
from reconciliation.statements.lines import StatementFormat
from reconciliation.use_cases import import_statement, rematch
from shared.auth import Principal
from shared.settings import Settings

STATEMENTS = Path(__file__).resolve().parents[2] / "fixtures" / "statements"
CAMT = STATEMENTS / "camt053_BFML_770001_20250314.xml"
ACCOUNT = b"ML06ML0990100100000077000145"

pytestmark = pytest.mark.usefixtures("accounts")


@pytest.fixture(autouse=True)
def tiny_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two lines staged at a time, two expectations judged at a time: the fixture's 11 lines are 6 chunks."""
    monkeypatch.setattr(import_statement, "CHUNK", 2)
    monkeypatch.setattr(rematch, "BATCH", 2)


def post(client: TestClient, token: str, body: bytes) -> Any:
    return client.post(
        "/v1/statements",
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/xml"},
    )


def traces(engine: Engine) -> dict[str, Any]:
    """What an import leaves: statements, lines, discrepancies, expectations' outcomes, events in the outbox."""
    with engine.connect() as connection:
        counts = connection.execute(
            text(
                "SELECT (SELECT count(*) FROM reconciliation.statement),"
                " (SELECT count(*) FROM reconciliation.statement_line),"
                " (SELECT count(*) FROM reconciliation.discrepancy),"
                " (SELECT count(*) FROM reconciliation.outbox)"
            )
        ).one()
        judged = connection.execute(
            text("SELECT instruction_id, outcome, settled_amount FROM reconciliation.expectation ORDER BY 1")
        ).all()
    return {
        "statements": counts[0],
        "lines": counts[1],
        "discrepancies": counts[2],
        "events": counts[3],
        "expectations": [tuple(row) for row in judged],
    }


def two_statements(second: Callable[[bytes], bytes]) -> bytes:
    """The fixture's file with a second `<Stmt>` after the first: the first one changed by `second`."""
    body = CAMT.read_bytes()
    start, end = body.index(b"<Stmt>"), body.index(b"</Stmt>") + len(b"</Stmt>")
    statement = body[start:end]
    return body[:end] + second(statement.replace(b"<ElctrncSeqNb>73<", b"<ElctrncSeqNb>74<")) + body[end:]


def test_a_balance_refusal_found_after_several_chunks_leaves_nothing_behind(
    client: TestClient, tokens: dict[str, str], instruct: Callable[[str, str], None], db: Engine
) -> None:
    instruct("bank", "bank")
    unbalanced = CAMT.read_bytes().replace(
        b'<Amt Ccy="XOF">16982500</Amt>', b'<Amt Ccy="XOF">16982000</Amt>', 1
    )

    before = traces(db)

    answer = post(client, tokens["operator"], unbalanced)

    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "statement_refused"
    assert "closes at 16982000" in answer.json()["error"]["message"]
    assert traces(db) == before
    assert before["statements"] == before["lines"] == before["discrepancies"] == 0


def test_a_file_cut_after_several_chunks_leaves_nothing_behind(
    client: TestClient, tokens: dict[str, str], instruct: Callable[[str, str], None], db: Engine
) -> None:
    instruct("bank", "bank")
    body = CAMT.read_bytes()

    before = traces(db)

    answer = post(client, tokens["operator"], body[: body.index(b"<NtryRef>009<")])

    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "unreadable_statement"
    assert traces(db) == before
    assert before["statements"] == before["lines"] == before["discrepancies"] == 0


@pytest.mark.parametrize(
    ("second", "says"),
    [
        (lambda statement: statement.replace(ACCOUNT, b"ML99ML0990100100000099999999"), "not a known"),
        (
            lambda statement: statement.replace(
                b'<Amt Ccy="XOF">16982500</Amt>', b'<Amt Ccy="XOF">1</Amt>', 1
            ).replace(b'<Amt Ccy="XOF">12500000</Amt>', b'<Amt Ccy="XOF">16982500</Amt>', 1),
            "closes at 1",
        ),
    ],
    ids=["unknown-account", "unbalanced"],
)
def test_a_refused_second_statement_undoes_the_first_already_matched(
    client: TestClient,
    tokens: dict[str, str],
    instruct: Callable[[str, str], None],
    db: Engine,
    second: Callable[[bytes], bytes],
    says: str,
) -> None:
    instruct("bank", "bank")

    before = traces(db)

    answer = post(client, tokens["operator"], two_statements(second))

    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "statement_refused"
    assert says in answer.json()["error"]["message"]
    assert traces(db) == before
    assert before["statements"] == before["lines"] == before["discrepancies"] == 0


def test_two_statements_of_one_file_are_both_imported_in_order(
    client: TestClient, tokens: dict[str, str], instruct: Callable[[str, str], None], db: Engine
) -> None:
    instruct("bank", "bank")
    # the same movements booked again under new bank references: each payment of the first is paid twice
    body = two_statements(
        lambda statement: (
            statement.replace(b'<Amt Ccy="XOF">16982500</Amt>', b'<Amt Ccy="XOF">21465000</Amt>', 2)
            .replace(b'<Amt Ccy="XOF">12500000</Amt>', b'<Amt Ccy="XOF">16982500</Amt>', 1)
            .replace(b"<NtryRef>0", b"<NtryRef>1")
            .replace(b"BFML250314", b"BFML250315")
        )
    )

    answer = post(client, tokens["operator"], body)

    assert answer.status_code == 201, answer.text
    first, second = answer.json()["statements"]
    assert first["lines"] == second["lines"] == 11
    assert second["outcomes"] == first["outcomes"]
    with db.connect() as connection:
        positions = connection.execute(
            text("SELECT position, line_count FROM reconciliation.statement ORDER BY position")
        ).all()
        judged: dict[str, str] = dict(
            connection.execute(
                text(
                    "SELECT instruction_id, outcome FROM reconciliation.expectation"
                    " WHERE instruction_id <= 'PMT25Q1-000105'"
                )
            ).all()
        )
    assert [tuple(row) for row in positions] == [(0, 11), (1, 11)]
    assert judged == {
        "PMT25Q1-000101": "DUPLICATE_SETTLEMENT",
        "PMT25Q1-000102": "DUPLICATE_SETTLEMENT",
        "PMT25Q1-000103": "RETURNED",  # a return outweighs the second payment
        "PMT25Q1-000104": "DUPLICATE_SETTLEMENT",
        "PMT25Q1-000105": "DUPLICATE_SETTLEMENT",
    }


def test_a_source_that_cannot_seek_is_imported_like_a_file(
    db: Engine, settings: Settings, instruct: Callable[[str, str], None]
) -> None:
    instruct("bank", "bank")

    class OneWay(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            chunk = self._data.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    operator = Principal(token_id=uuid.UUID(int=0), name="test-operator", role="operator")
    with ReconciliationUnitOfWork(db, topic_prefix=settings.topic_prefix) as uow:
        [imported] = import_statement.import_statement(
            uow,
            source=io.BufferedReader(OneWay(CAMT.read_bytes())),
            statement_format=StatementFormat.CAMT053,
            imported_by=operator,
            max_bytes=1 << 20,
        )
        uow.commit()

    assert imported.lines == 11
    assert imported.outcomes == {
        "FEE": 1,
        "FUNDING_MATCHED": 2,
        "MATCHED": 5,
        "RETURN": 1,
        "UNKNOWN_REFERENCE": 1,
        "UNMATCHED_CREDIT": 1,
    }
