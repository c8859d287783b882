"""Import a statement file: parse, check, and match it as a whole, or refuse it as a whole with the reason."""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any, BinaryIO, cast
from uuid import UUID, uuid4

from reconciliation.db.staging import StatementStaging
from reconciliation.db.unit_of_work import ReconciliationUnitOfWork
from reconciliation.statements.camt053 import parse_camt053, stream_camt053
from reconciliation.statements.checks import Check, CheckResult, Totals, Verdict, check_totals
from reconciliation.statements.lines import (
    BoundedStream,
    Statement,
    StatementFormat,
    StatementHeader,
    StatementLine,
    TransactionSummary,
    feed,
)
from reconciliation.statements.mt940 import parse_mt940
from reconciliation.statements.operator_csv import parse_operator_csv
from reconciliation.use_cases.rematch import match_staged
from shared.audit import record_action
from shared.auth import Principal
from shared.errors import Conflict, InvalidInput
from shared.events.contracts import StatementReconciled


class StatementRefused(InvalidInput):
    """A check that refuses a statement failed: nothing of the file is imported."""

    code = "statement_refused"


class DuplicateStatement(Conflict):
    """The same file (same sha256) was already imported, or is being imported right now."""

    code = "duplicate_statement"


@dataclass(frozen=True, slots=True)
class ImportedStatement:
    statement_id: UUID
    account_id: str
    lines: int
    outcomes: dict[str, int]
    checks: list[dict[str, Any]]
    discrepancies_found: int


#: Lines COPYed at a time while a statement is read: what the import holds of a statement at most.
CHUNK = 10_000


def parse(source: BinaryIO, statement_format: StatementFormat, *, max_bytes: int) -> list[Statement]:
    """Every statement of the file in the given format (UnreadableStatement, WrongCurrency, StatementTooLarge)."""
    if statement_format is StatementFormat.CAMT053:
        return parse_camt053(source, max_bytes=max_bytes)
    if statement_format is StatementFormat.MT940:
        return parse_mt940(source, max_bytes=max_bytes)
    return [parse_operator_csv(source, max_bytes=max_bytes)]


def _checks(verdict: Verdict) -> list[dict[str, Any]]:
    return [_check(result) for result in verdict.results]


def _check(result: CheckResult) -> dict[str, Any]:
    return {
        "check": result.check.value,
        "passed": result.passed,
        "refuses": result.refuses,
        "reason": result.reason,
    }


def import_statement(
    uow: ReconciliationUnitOfWork,
    *,
    source: BinaryIO,
    statement_format: StatementFormat,
    imported_by: Principal,
    max_bytes: int,
) -> list[ImportedStatement]:
    """Check, store and match every statement of the file, or refuse all if one is refused.

    A camt.053 file is streamed: each statement's lines are staged in chunks of `CHUNK` as they are read,
    its checks are made from totals counted on the way, and it is matched once read to its end. A
    refusal or an unreadable part found late raises; the caller's transaction, rolled back, leaves
    nothing of the file. MT940 and operator CSV files are read whole first, then go the same way.
    """
    with _hashed(source, max_bytes) as (seekable, sha256):
        importer = _Importer(uow, sha256=sha256, imported_by=imported_by)
        if statement_format is StatementFormat.CAMT053:
            stream_camt053(seekable, importer, max_bytes=max_bytes)
        else:
            for statement in parse(seekable, statement_format, max_bytes=max_bytes):
                feed(statement, importer)
    if not importer.done:
        raise StatementRefused("the file holds no statement")
    return importer.done


@contextmanager
def _hashed(source: BinaryIO, max_bytes: int) -> Iterator[tuple[BinaryIO, str]]:
    """The file's sha256 (StatementTooLarge past `max_bytes`) and a reader at its start: the file itself
    if it can seek, else a spooled copy."""
    bounded = BoundedStream(source, max_bytes)
    if source.seekable():
        start = source.tell()
        while bounded.read(1 << 20):
            pass
        source.seek(start)
        yield source, bounded.sha256
        return
    with tempfile.SpooledTemporaryFile(max_size=8 << 20) as spool:
        for chunk in iter(lambda: bounded.read(1 << 20), b""):
            spool.write(chunk)
        spool.seek(0)
        yield cast("BinaryIO", spool), bounded.sha256


class _Importer:
    """A `StatementSink`: claims each statement, stages its lines, checks it at its end, then matches it."""

    def __init__(self, uow: ReconciliationUnitOfWork, *, sha256: str, imported_by: Principal) -> None:
        self.uow = uow
        self.sha256 = sha256
        self.imported_by = imported_by
        self.accounts = uow.accounts.known()
        self.imported = {sha256} if uow.statements.file_imported(sha256) else set()
        self.staging = StatementStaging(uow.connection)
        self.done: list[ImportedStatement] = []
        self._position = 0
        self._statement: _Current | None = None

    def begin(self, header: StatementHeader) -> None:
        header = dataclasses.replace(header, file_sha256=self.sha256)
        current = _Current(
            header=header,
            provider=self.accounts.get(header.account_id),
            previous=self.uow.statements.previous(header.account_id, excluding_file=self.sha256),
        )
        if current.provider is not None and not self.imported:
            # refused at its end anyway otherwise: its lines are only counted
            statement_id = uuid4()
            claimed = self.uow.statements.claim(
                statement_id,
                header=header,
                position=self._position,
                provider=current.provider,
                line_count=0,
                covers_through=header.period_end,
                checks=[],
                imported_by=self.imported_by.name,
            )
            if not claimed:
                raise DuplicateStatement(
                    f"statement refused: the same file (sha256 {self.sha256}) was imported meanwhile",
                    details={"account": header.account_id, "sha256": self.sha256},
                )
            self.staging.start()
            current.statement_id = statement_id
        self._statement = current

    def line(self, line: StatementLine) -> None:
        current = self._statement
        assert current is not None, "a line before its statement"
        current.totals.add(line)
        current.count += 1
        if current.last_day is None or line.booking_date > current.last_day:
            current.last_day = line.booking_date
        if current.statement_id is not None:
            current.buffer.append(line)
            if len(current.buffer) >= CHUNK:
                self._flush(current)

    def _flush(self, current: _Current) -> None:
        if current.statement_id is not None and current.buffer:
            self.staging.add_lines(current.statement_id, current.count - len(current.buffer), current.buffer)
        current.buffer = []

    def end(self, header: StatementHeader, counted: TransactionSummary) -> None:
        current = self._statement
        assert current is not None, "the end of a statement never begun"
        self._statement = None
        self._position += 1
        header = current.header
        verdict = check_totals(
            header,
            current.totals,
            counted,
            known_accounts=self.accounts,
            imported_sha256=self.imported,
            previous=current.previous,
        )
        refusals = [result for result in verdict.results if result.refuses]
        if refusals:
            details = {"account": header.account_id, "failures": [_check(result) for result in refusals]}
            reason = "; ".join(result.reason for result in refusals)
            if any(result.check is Check.DUPLICATE_FILE for result in refusals):
                raise DuplicateStatement(f"statement refused: {reason}", details=details)
            raise StatementRefused(f"statement refused: {reason}", details=details)
        statement_id, provider = current.statement_id, current.provider
        assert statement_id is not None, "an accepted statement is claimed"
        assert provider is not None, "an accepted statement is of a known account"
        self._flush(current)
        checks = _checks(verdict)
        self.uow.statements.finish(
            statement_id,
            line_count=current.count,
            covers_through=header.period_end or current.last_day,
            checks=checks,
        )
        self.done.append(
            _match_and_record(
                self.uow,
                self.staging,
                header=header,
                statement_id=statement_id,
                provider=provider,
                lines=current.count,
                checks=checks,
                imported_by=self.imported_by,
            )
        )


@dataclass(slots=True)
class _Current:
    """The statement being read: what its checks need, and its lines not staged yet."""

    header: StatementHeader
    provider: str | None
    previous: StatementHeader | None
    statement_id: UUID | None = None
    totals: Totals = field(default_factory=Totals)
    count: int = 0
    last_day: date | None = None
    buffer: list[StatementLine] = field(default_factory=list)


def _match_and_record(
    uow: ReconciliationUnitOfWork,
    staging: StatementStaging,
    *,
    header: StatementHeader,
    statement_id: UUID,
    provider: str,
    lines: int,
    checks: list[dict[str, Any]],
    imported_by: Principal,
) -> ImportedStatement:
    matched = match_staged(
        uow, staging, statement_id=statement_id, statement_format=header.format, provider=provider
    )
    outcomes = dict(sorted(matched.line_outcomes.items()))
    uow.statements.set_outcomes(statement_id, outcomes)
    uow.publish(
        StatementReconciled(
            statement_id=statement_id,
            format=header.format.value,
            account=header.account_id,
            lines=lines,
            outcomes=outcomes,
        ),
        subject=str(statement_id),
    )
    record_action(
        uow,
        actor=imported_by,
        action="statement.import",
        subject=f"statement/{statement_id}",
        after={
            "account": header.account_id,
            "format": header.format.value,
            "sha256": header.file_sha256,
            "lines": lines,
            "outcomes": outcomes,
        },
    )
    return ImportedStatement(
        statement_id=statement_id,
        account_id=header.account_id,
        lines=lines,
        outcomes=outcomes,
        checks=checks,
        discrepancies_found=matched.found,
    )
