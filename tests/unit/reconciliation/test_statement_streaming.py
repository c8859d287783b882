"""A camt.053 read as a stream: each statement handed to a sink line by line, and checked from totals."""

from __future__ import annotations

import dataclasses
import hashlib
import io
from pathlib import Path

import pytest

from reconciliation.statements.camt053 import parse_camt053, stream_camt053
from reconciliation.statements.checks import Totals, check_statement, check_totals
from reconciliation.statements.lines import (
    StatementHeader,
    StatementLine,
    TransactionSummary,
    UnreadableStatement,
)

CAMT = Path(__file__).resolve().parents[2] / "fixtures" / "statements" / "camt053_BFML_770001_20250314.xml"


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def begin(self, header: StatementHeader) -> None:
        self.calls.append(("begin", header))

    def line(self, line: StatementLine) -> None:
        self.calls.append(("line", line))

    def end(self, header: StatementHeader, counted: TransactionSummary) -> None:
        self.calls.append(("end", counted))


def test_the_sink_gets_the_header_then_each_line_then_the_counted_totals() -> None:
    body = CAMT.read_bytes()
    recorder = Recorder()

    sha256 = stream_camt053(io.BytesIO(body), recorder)

    [statement] = parse_camt053(io.BytesIO(body))
    assert sha256 == hashlib.sha256(body).hexdigest() == statement.header.file_sha256
    kinds = [kind for kind, _ in recorder.calls]
    assert kinds == ["begin", *["line"] * len(statement.lines), "end"]
    assert [line for kind, line in recorder.calls if kind == "line"] == statement.lines
    assert recorder.calls[0][1] == dataclasses.replace(statement.header, file_sha256="")
    assert recorder.calls[-1][1] == statement.counted


def test_lines_already_handed_over_are_followed_by_the_error_of_a_cut_file() -> None:
    body = CAMT.read_bytes()
    recorder = Recorder()

    with pytest.raises(UnreadableStatement):
        stream_camt053(io.BytesIO(body[: body.index(b"<NtryRef>009<")]), recorder)

    assert [kind for kind, _ in recorder.calls][:2] == ["begin", "line"]
    assert "end" not in [kind for kind, _ in recorder.calls]


@pytest.mark.parametrize("closing", [16_982_500, 16_982_000])
def test_checks_from_totals_are_the_checks_of_the_whole_statement(closing: int) -> None:
    [statement] = parse_camt053(CAMT.open("rb"))
    header = dataclasses.replace(statement.header, closing_balance=closing)
    statement = dataclasses.replace(statement, header=header)
    known = {header.account_id}

    whole = check_statement(statement, known_accounts=known, imported_sha256=set(), previous=None)
    totals = Totals()
    for line in statement.lines:
        totals.add(line)
    streamed = check_totals(
        header, totals, statement.counted, known_accounts=known, imported_sha256=set(), previous=None
    )

    assert streamed == whole
    assert streamed.accepted is (closing == 16_982_500)
