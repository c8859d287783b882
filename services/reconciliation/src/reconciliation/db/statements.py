"""Imported statements and their lines, with the outcome matching gave each line."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, func, select
from sqlalchemy.dialects.postgresql import insert

from reconciliation.db.bulk_update import update_rows
from reconciliation.db.keys import among_many
from reconciliation.db.tables import known_account, statement, statement_line
from reconciliation.domain.matching import LineResult
from reconciliation.statements.lines import (
    Direction,
    LineKind,
    LineStatus,
    StatementFormat,
    StatementHeader,
    StatementLine,
    TransactionSummary,
)

LineKey = tuple[UUID, int]
"""A stored line: its statement and its position in it."""

LINE_COLUMNS = (
    "statement_id",
    "position",
    "line_id",
    "booking_date",
    "value_date",
    "direction",
    "amount",
    "currency",
    "kind",
    "status",
    "raw_status",
    "our_ref",
    "provider_ref",
    "counterparty_msisdn",
    "counterparty_account",
    "counterparty_name",
    "return_reason",
    "details",
    "outcome",
    "reference",
    "matched_by",
    "suggestions",
)


_FORMATS = {value.value: value for value in StatementFormat}
_DIRECTIONS = {value.value: value for value in Direction}
_KINDS = {value.value: value for value in LineKind}
_STATUSES = {value.value: value for value in LineStatus}


def line_of(row: Any) -> StatementLine:
    """A stored line from a row of `LINE_COLUMNS[:18]` then its statement's format (`source`), in that order."""
    (
        _,
        _,
        line_id,
        booking_date,
        value_date,
        direction,
        amount,
        currency,
        kind,
        status,
        raw_status,
        our_ref,
        provider_ref,
        msisdn,
        account,
        name,
        return_reason,
        details,
        source,
    ) = row[:19]
    return StatementLine(
        _FORMATS[source],
        line_id,
        booking_date,
        value_date,
        _DIRECTIONS[direction],
        amount,
        currency,
        _KINDS[kind],
        _STATUSES[status],
        raw_status,
        our_ref,
        provider_ref,
        msisdn,
        account,
        name,
        return_reason,
        details,
    )


def _result_columns(result: LineResult) -> tuple[str, str | None, str | None, str | None]:
    return (
        result.outcome.value,
        result.reference,
        result.matched_by.value if result.matched_by else None,
        ",".join(result.suggestions) or None,
    )


class StatementRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def claim(
        self,
        statement_id: UUID,
        *,
        header: StatementHeader,
        position: int,
        provider: str,
        line_count: int,
        covers_through: date | None,
        checks: list[dict[str, Any]],
        imported_by: str,
    ) -> bool:
        """Insert the statement row; False when this file's statement is already there.

        A concurrent import of the same file waits here on the other's uncommitted row, then gets False.
        """
        claimed = self.connection.execute(
            insert(statement)
            .values(
                statement_id=statement_id,
                file_sha256=header.file_sha256,
                position=position,
                format=header.format.value,
                account_id=header.account_id,
                provider=provider,
                currency=header.currency,
                reference=header.statement_id,
                sequence_number=header.sequence_number,
                period_start=header.period_start,
                period_end=header.period_end,
                covers_through=covers_through,
                opening_balance=header.opening_balance,
                closing_balance=header.closing_balance,
                line_count=line_count,
                checks=checks,
                outcomes={},
                imported_by=imported_by,
            )
            .on_conflict_do_nothing(index_elements=["file_sha256", "position"])
            .returning(statement.c.statement_id)
        ).first()
        return claimed is not None

    def file_imported(self, sha256: str) -> bool:
        found = self.connection.execute(
            select(statement.c.statement_id).where(statement.c.file_sha256 == sha256).limit(1)
        ).first()
        return found is not None

    def previous(self, account_id: str, *, excluding_file: str | None = None) -> StatementHeader | None:
        """The last statement imported for the account (not from `excluding_file`), for the continuity check."""
        query = select(statement).where(statement.c.account_id == account_id)
        if excluding_file is not None:
            query = query.where(statement.c.file_sha256 != excluding_file)
        row = self.connection.execute(
            query.order_by(
                statement.c.imported_at.desc(), statement.c.sequence_number.desc().nulls_last()
            ).limit(1)
        ).first()
        if row is None:
            return None
        return StatementHeader(
            format=StatementFormat(row.format),
            account_id=row.account_id,
            currency=row.currency,
            statement_id=row.reference,
            sequence_number=row.sequence_number,
            period_start=row.period_start,
            period_end=row.period_end,
            opening_balance=row.opening_balance,
            closing_balance=row.closing_balance,
            summary=TransactionSummary(),
            file_sha256=row.file_sha256,
        )

    def lines_referencing(
        self, references: Collection[str], *, excluding: UUID | None = None
    ) -> list[tuple[LineKey, StatementLine]]:
        """Stored lines whose `our_ref` or `provider_ref` is one of `references`."""
        if not references:
            return []
        keys = among_many(self.connection, references)
        columns = (
            *[statement_line.c[name] for name in LINE_COLUMNS[:18]],
            statement.c.format.label("source"),
        )
        query = (
            select(*columns)
            .join(statement, statement.c.statement_id == statement_line.c.statement_id)
            .where((statement_line.c.our_ref == keys) | (statement_line.c.provider_ref == keys))
            .order_by(statement.c.imported_at, statement_line.c.statement_id, statement_line.c.position)
        )
        if excluding is not None:
            query = query.where(statement_line.c.statement_id != excluding)
        return [((row.statement_id, row.position), line_of(row)) for row in self.connection.execute(query)]

    def save_line_outcomes(self, results: Sequence[tuple[LineKey, LineResult]]) -> None:
        update_rows(
            self.connection,
            statement_line,
            key=("statement_id", "position"),
            columns=("outcome", "reference", "matched_by", "suggestions"),
            rows=[(*key, *_result_columns(result)) for key, result in results],
        )

    def finish(
        self,
        statement_id: UUID,
        *,
        line_count: int,
        covers_through: date | None,
        checks: list[dict[str, Any]],
    ) -> None:
        """What a claimed statement's row could only say once the statement was read to its end."""
        self.connection.execute(
            statement.update()
            .where(statement.c.statement_id == statement_id)
            .values(line_count=line_count, covers_through=covers_through, checks=checks)
        )

    def set_outcomes(self, statement_id: UUID, outcomes: dict[str, int]) -> None:
        self.connection.execute(
            statement.update().where(statement.c.statement_id == statement_id).values(outcomes=outcomes)
        )

    def settled_through(self) -> dict[str, date]:
        """Per provider, the last day its imported statements cover."""
        rows = self.connection.execute(
            select(statement.c.provider, func.max(statement.c.covers_through)).group_by(statement.c.provider)
        ).all()
        return {provider: day for provider, day in rows if day is not None}

    def get(self, statement_id: UUID, *, after: int = -1, limit: int) -> dict[str, Any] | None:
        """The statement with at most `limit` of its lines, those after position `after`, in order."""
        row = (
            self.connection.execute(select(statement).where(statement.c.statement_id == statement_id))
            .mappings()
            .first()
        )
        if row is None:
            return None
        lines = self.connection.execute(
            select(statement_line)
            .where(statement_line.c.statement_id == statement_id, statement_line.c.position > after)
            .order_by(statement_line.c.position)
            .limit(limit)
        ).mappings()
        return {**row, "lines": [dict(line) for line in lines]}

    def provider_of_account(self, account_id: str) -> str | None:
        found: str | None = self.connection.execute(
            select(known_account.c.provider).where(known_account.c.account_id == account_id)
        ).scalar()
        return found
