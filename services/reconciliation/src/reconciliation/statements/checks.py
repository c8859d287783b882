"""File-level checks of a parsed statement, and whether each failure refuses it or is only recorded.

| check          | fails when                                                          | on failure                 |
|----------------|---------------------------------------------------------------------|----------------------------|
| balance        | opening + booked credits − booked debits ≠ closing                  | refuse the statement       |
| summary        | the totals the statement declares ≠ the totals counted while parsing | refuse the statement       |
| continuity     | sequence ≠ previous + 1, or opening ≠ previous closing (same account) | accept, failure recorded |
| duplicate file | a file with the same sha256 was already imported                    | refuse the statement       |
| account        | the account is not one of the programme's known accounts            | refuse the statement       |
| currency       | the statement or one of its amounts is not XOF                      | refuse the statement       |

A refused statement is imported not at all: none of its lines is matched. An accepted statement with a
recorded continuity failure is matched normally and the failure is kept with it for an operator to
explain (a missing statement is usually delivered later). The currency check is made by the parsers
while reading (`WrongCurrency`), because an amount in another currency cannot be read as whole francs.

Every check reads only the header and totals (`Totals`, counted line by line while a statement is
streamed), so a statement never has to be held whole to be judged.
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from dataclasses import dataclass, fields
from enum import StrEnum

from reconciliation.statements.lines import (
    Direction,
    Statement,
    StatementHeader,
    StatementLine,
    TransactionSummary,
)


class Check(StrEnum):
    BALANCE = "balance"
    SUMMARY = "summary"
    CONTINUITY = "continuity"
    DUPLICATE_FILE = "duplicate_file"
    ACCOUNT = "account"


#: Checks whose failure refuses the statement; the others are recorded with an accepted statement.
REFUSING_CHECKS = frozenset({Check.BALANCE, Check.SUMMARY, Check.DUPLICATE_FILE, Check.ACCOUNT})


@dataclass(frozen=True, slots=True)
class CheckResult:
    check: Check
    passed: bool
    reason: str

    @property
    def refuses(self) -> bool:
        return not self.passed and self.check in REFUSING_CHECKS


@dataclass(frozen=True, slots=True)
class Verdict:
    results: tuple[CheckResult, ...]

    @property
    def accepted(self) -> bool:
        return not any(result.refuses for result in self.results)

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        return tuple(result for result in self.results if not result.passed)


@dataclass(slots=True)
class Totals:
    """The booked credits and debits of a statement, added up line by line as it is read."""

    credits: int = 0
    debits: int = 0

    def add(self, line: StatementLine) -> None:
        if line.booked:
            if line.direction is Direction.CREDIT:
                self.credits += line.amount
            else:
                self.debits += line.amount

    @classmethod
    def of(cls, lines: Iterable[StatementLine]) -> Totals:
        totals = cls()
        for line in lines:
            totals.add(line)
        return totals


def check_statement(
    statement: Statement,
    *,
    known_accounts: Container[str],
    imported_sha256: Container[str],
    previous: StatementHeader | None,
) -> Verdict:
    """Every check, in the order an operator reads them. `previous` is the last accepted statement of the account."""
    return check_totals(
        statement.header,
        Totals.of(statement.lines),
        statement.counted,
        known_accounts=known_accounts,
        imported_sha256=imported_sha256,
        previous=previous,
    )


def check_totals(
    header: StatementHeader,
    totals: Totals,
    counted: TransactionSummary,
    *,
    known_accounts: Container[str],
    imported_sha256: Container[str],
    previous: StatementHeader | None,
) -> Verdict:
    """`check_statement` from what a streamed statement leaves: its header, its totals, its parser's counts."""
    return Verdict(
        results=(
            check_account(header, known_accounts),
            check_duplicate_file(header, imported_sha256),
            balance_check(header, totals),
            summary_check(header.summary, counted),
            check_continuity(header, previous),
        )
    )


def check_balance(statement: Statement) -> CheckResult:
    return balance_check(statement.header, Totals.of(statement.lines))


def balance_check(header: StatementHeader, totals: Totals) -> CheckResult:
    credits, debits = totals.credits, totals.debits
    computed = header.opening_balance + credits - debits
    arithmetic = f"opening {header.opening_balance} + credits {credits} − debits {debits} = {computed}"
    if computed == header.closing_balance:
        return CheckResult(Check.BALANCE, True, f"{arithmetic}, the closing balance")
    return CheckResult(
        Check.BALANCE,
        False,
        f"{arithmetic}, but the statement closes at {header.closing_balance}"
        f" (difference {header.closing_balance - computed})",
    )


def check_summary(statement: Statement) -> CheckResult:
    return summary_check(statement.header.summary, statement.counted)


def summary_check(declared: TransactionSummary | None, counted: TransactionSummary) -> CheckResult:
    if declared is None:
        return CheckResult(Check.SUMMARY, True, "the statement declares no totals")
    mismatches = [
        f"{field.name} declared {getattr(declared, field.name)}, counted {getattr(counted, field.name)}"
        for field in fields(declared)
        if getattr(declared, field.name) is not None
        and getattr(declared, field.name) != getattr(counted, field.name)
    ]
    if mismatches:
        return CheckResult(Check.SUMMARY, False, "; ".join(mismatches))
    return CheckResult(Check.SUMMARY, True, "the declared totals match the lines")


def check_continuity(header: StatementHeader, previous: StatementHeader | None) -> CheckResult:
    if previous is None:
        return CheckResult(Check.CONTINUITY, True, f"first statement of account {header.account_id}")
    if previous.account_id != header.account_id:
        return CheckResult(
            Check.CONTINUITY,
            False,
            f"previous statement is of account {previous.account_id}, not {header.account_id}",
        )
    problems = []
    if header.sequence_number is not None and previous.sequence_number is not None:
        expected = previous.sequence_number + 1
        if header.sequence_number > expected:
            problems.append(
                f"sequence {header.sequence_number} follows {previous.sequence_number}:"
                f" {header.sequence_number - expected} statement(s) missing"
            )
        elif header.sequence_number < expected:
            problems.append(f"sequence {header.sequence_number} does not follow {previous.sequence_number}")
    if header.opening_balance != previous.closing_balance:
        problems.append(
            f"opens at {header.opening_balance} but the previous statement closed at {previous.closing_balance}"
            f" (gap {header.opening_balance - previous.closing_balance})"
        )
    if problems:
        return CheckResult(Check.CONTINUITY, False, "; ".join(problems))
    return CheckResult(Check.CONTINUITY, True, "follows the previous statement of the account")


def check_duplicate_file(header: StatementHeader, imported_sha256: Container[str]) -> CheckResult:
    if header.file_sha256 in imported_sha256:
        return CheckResult(
            Check.DUPLICATE_FILE, False, f"the same file (sha256 {header.file_sha256}) was already imported"
        )
    return CheckResult(Check.DUPLICATE_FILE, True, "a file not imported before")


def check_account(header: StatementHeader, known_accounts: Container[str]) -> CheckResult:
    if header.account_id in known_accounts:
        return CheckResult(Check.ACCOUNT, True, f"account {header.account_id} is one of ours")
    return CheckResult(Check.ACCOUNT, False, f"account {header.account_id} is not a known programme account")
