"""Import a statement file: parse, check, and match it as a whole, or refuse it as a whole with the reason."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, BinaryIO
from uuid import UUID, uuid4

from reconciliation.db.unit_of_work import ReconciliationUnitOfWork
from reconciliation.statements.camt053 import parse_camt053
from reconciliation.statements.checks import Check, CheckResult, Verdict, check_statement
from reconciliation.statements.lines import Statement, StatementFormat
from reconciliation.statements.mt940 import parse_mt940
from reconciliation.statements.operator_csv import parse_operator_csv
from reconciliation.use_cases.rematch import rematch
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
    """Parse, check every statement of the file, then store and match them all; refuse all if one is refused."""
    statements = parse(source, statement_format, max_bytes=max_bytes)
    if not statements:
        raise StatementRefused("the file holds no statement")
    accounts = uow.accounts.known()
    verdicts = []
    for statement in statements:
        header = statement.header
        imported = {header.file_sha256} if uow.statements.file_imported(header.file_sha256) else set()
        verdict = check_statement(
            statement,
            known_accounts=accounts,
            imported_sha256=imported,
            previous=uow.statements.previous(header.account_id),
        )
        refusals = [result for result in verdict.results if result.refuses]
        if refusals:
            details = {"account": header.account_id, "failures": [_check(result) for result in refusals]}
            reason = "; ".join(result.reason for result in refusals)
            if any(result.check is Check.DUPLICATE_FILE for result in refusals):
                raise DuplicateStatement(f"statement refused: {reason}", details=details)
            raise StatementRefused(f"statement refused: {reason}", details=details)
        verdicts.append(verdict)
    return [
        _store_and_match(
            uow, statement, position, accounts[statement.header.account_id], verdict, imported_by
        )
        for position, (statement, verdict) in enumerate(zip(statements, verdicts, strict=True))
    ]


def _store_and_match(
    uow: ReconciliationUnitOfWork,
    statement: Statement,
    position: int,
    provider: str,
    verdict: Verdict,
    imported_by: Principal,
) -> ImportedStatement:
    header = statement.header
    statement_id = uuid4()
    checks = _checks(verdict)
    claimed = uow.statements.claim(
        statement_id,
        header=header,
        position=position,
        provider=provider,
        line_count=len(statement.lines),
        covers_through=header.period_end
        or max((line.booking_date for line in statement.lines), default=None),
        checks=checks,
        imported_by=imported_by.name,
    )
    if not claimed:
        raise DuplicateStatement(
            f"statement refused: the same file (sha256 {header.file_sha256}) was imported meanwhile",
            details={"account": header.account_id, "sha256": header.file_sha256},
        )
    matched = rematch(uow, providers={provider}, fresh=statement.lines, fresh_statement=statement_id)
    uow.statements.add_lines(statement_id, matched.fresh)
    outcomes = dict(sorted(matched.line_outcomes.items()))
    uow.statements.set_outcomes(statement_id, outcomes)
    uow.publish(
        StatementReconciled(
            statement_id=statement_id,
            format=header.format.value,
            account=header.account_id,
            lines=len(statement.lines),
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
            "lines": len(statement.lines),
            "outcomes": outcomes,
        },
    )
    return ImportedStatement(
        statement_id=statement_id,
        account_id=header.account_id,
        lines=len(statement.lines),
        outcomes=outcomes,
        checks=checks,
        discrepancies_found=len(matched.found),
    )
