"""A statement being imported, staged in temporary tables so that it is never held whole in Python.

The lines of the statement are COPYed chunk by chunk into `import_line` while the file is read. Once its
checks pass, each line's match target is found set-based (`import_matched`, the lines in target order: the
expectation its `our_ref` names — by instruction id, then provider request key —, else the funding it
names, else the expectation whose provider reference is its `provider_ref`), the expectations to judge
are listed (`import_judged`), and they are judged batch by batch (ranges of instruction ids, whose lines
are one range of `import_matched`). The lines then go into `statement_line` with their outcomes, and the
expectations' new outcomes (`import_outcome`) into `expectation`, each in one statement. Every temporary table is dropped at commit or rollback.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, text

from reconciliation.db.expectations import StoredExpectation, load_batch
from reconciliation.db.keys import copy_rows
from reconciliation.db.statements import LINE_COLUMNS, LineKey, line_of
from reconciliation.statements.lines import StatementFormat, StatementLine

_STORED = LINE_COLUMNS[:18]
_STORED_LIST = ", ".join(f'l."{name}"' for name in _STORED)


def _target_sql(source: str) -> str:
    """`source`'s lines (alias l) with their match target, as `reconcile` would find it over every expectation.

    Two expectations with the same provider request key: the smallest instruction id; with the same provider
    reference: the largest (what `reconcile` picks when given the expectations in instruction id order).
    Each lookup is made only when the ones before it found nothing (`OFFSET 0` keeps each computed once).
    """
    return f"""
        SELECT statement_id, position,
               coalesce(o, f, p) AS target,
               CASE WHEN o IS NOT NULL OR f IS NOT NULL THEN 'our_ref'
                    WHEN p IS NOT NULL THEN 'provider_ref' END AS matched_by,
               (o IS NULL AND f IS NOT NULL) AS funding
        FROM (
            SELECT a.*,
                   CASE WHEN a.o IS NULL AND a.f IS NULL AND a.provider_ref IS NOT NULL THEN
                       (SELECT max(e.instruction_id) FROM reconciliation.expectation e
                        WHERE e.provider_tx_ref = a.provider_ref)
                   END AS p
            FROM (
                SELECT l.statement_id, l.position, l.provider_ref,
                       CASE WHEN l.our_ref IS NOT NULL THEN coalesce(
                           (SELECT e.instruction_id FROM reconciliation.expectation e
                            WHERE e.instruction_id = l.our_ref),
                           (SELECT min(e.instruction_id) FROM reconciliation.expectation e
                            WHERE e.provider_request_key = l.our_ref)
                       ) END AS o,
                       CASE WHEN l.our_ref IS NOT NULL THEN
                           (SELECT f.reference FROM reconciliation.funding f WHERE f.reference = l.our_ref)
                       END AS f
                FROM {source}
                OFFSET 0
            ) a
            OFFSET 0
        ) b
    """


#: `_matched_line_outcome` of domain/matching.py, for lines that name an instruction.
_MATCHED_OUTCOME = """
    CASE WHEN l.kind = 'FEE' THEN 'FEE'
         WHEN l.kind = 'REVERSAL' THEN 'REVERSAL'
         WHEN l.direction = 'CREDIT' THEN 'RETURN'
         ELSE 'MATCHED' END
"""


class StatementStaging:
    """The temporary tables of one import (one transaction); one statement is staged at a time."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._created = False
        self._batch = ("", "")

    def _execute(self, sql: str, **parameters: Any) -> Any:
        return self.connection.execute(text(sql), parameters)

    def start(self) -> None:
        """Empty staging tables (created on first use, dropped when the transaction ends)."""
        if self._created:
            self._execute(
                "TRUNCATE import_line, import_judged, import_result, import_outcome;"
                " DROP TABLE IF EXISTS import_matched"
            )
            return
        self._execute(
            "CREATE TEMP TABLE import_line (LIKE reconciliation.statement_line INCLUDING DEFAULTS) ON COMMIT DROP;"
            " CREATE TEMP TABLE import_outcome (instruction_id text, outcome text, settled_amount bigint)"
            " ON COMMIT DROP;"
            " CREATE TEMP TABLE import_judged (instruction_id text PRIMARY KEY) ON COMMIT DROP;"
            " CREATE TEMP TABLE import_result (position integer PRIMARY KEY, outcome text, reference text,"
            " matched_by text, suggestions text) ON COMMIT DROP"
        )
        self._created = True

    def add_lines(self, statement_id: UUID, first_position: int, lines: Sequence[StatementLine]) -> None:
        """COPY a chunk of the statement's lines, numbered from `first_position`."""
        rows = (
            (
                statement_id,
                position,
                line.line_id,
                line.booking_date,
                line.value_date,
                line.direction.value,
                line.amount,
                line.currency,
                line.kind.value,
                line.status.value,
                line.raw_status,
                line.our_ref,
                line.provider_ref,
                line.counterparty_msisdn,
                line.counterparty_account,
                line.counterparty_name,
                line.return_reason,
                line.details,
            )
            for position, line in enumerate(lines, start=first_position)
        )
        copy_rows(self.connection, "import_line", _STORED, rows)

    def find_targets(self, provider: str, unsettled: Collection[str]) -> None:
        """Each staged line's target; the expectations to judge: those the lines name and the provider's
        expectations that no line may name yet (not judged yet, or judged one of `unsettled`)."""
        self._execute("ANALYZE import_line")
        # the lines with their targets, in target order: a batch of expectations reads one range of them
        self._execute(
            "CREATE TEMP TABLE import_matched ON COMMIT DROP AS"
            " SELECT l.*, t.target, t.matched_by AS target_by, t.funding"
            f" FROM import_line l JOIN ({_target_sql('import_line l')}) t USING (statement_id, position)"
            " ORDER BY t.target;"
            " TRUNCATE import_line;"
            " CREATE INDEX ON import_matched (target);"
            " CREATE INDEX ON import_matched (position) WHERE target IS NULL OR funding;"
            " ANALYZE import_matched"
        )
        self._execute(
            "INSERT INTO import_judged"
            " SELECT DISTINCT target FROM import_matched WHERE target IS NOT NULL AND NOT funding"
            " UNION SELECT instruction_id FROM reconciliation.expectation"
            " WHERE provider = :provider AND (outcome IS NULL OR outcome = ANY(:unsettled))",
            provider=provider,
            unsettled=list(unsettled),
        )
        self._execute("ANALYZE import_judged")

    def judged_batches(self, size: int) -> Iterator[list[StoredExpectation]]:
        """The expectations to judge, `size` at a time, in instruction id order; `batch_lines` gives the
        lines of the batch last yielded."""
        after = ""
        while True:
            last = (
                self._execute(
                    "SELECT instruction_id FROM import_judged WHERE instruction_id > :after"
                    " ORDER BY instruction_id OFFSET :skip LIMIT 1",
                    after=after,
                    skip=size - 1,
                ).scalar()
                or self._execute(
                    "SELECT max(instruction_id) FROM import_judged WHERE instruction_id > :after", after=after
                ).scalar()
            )
            if last is None:
                return
            self._batch = (after, last)
            yield load_batch(self.connection, "import_judged", after=after, last=last)
            after = last

    def batch_lines(
        self, statement_format: StatementFormat
    ) -> tuple[list[tuple[LineKey, StatementLine]], list[StatementLine]]:
        """The lines whose target is in the current batch: stored ones (their keys and lines, in import
        order), then the staged ones (in position order)."""
        after, last = self._batch
        stored = self._execute(
            f"""
            WITH batch AS (
                SELECT e.instruction_id, e.provider_request_key, e.provider_tx_ref
                FROM reconciliation.expectation e JOIN import_judged j USING (instruction_id)
                WHERE j.instruction_id > :after AND j.instruction_id <= :last
                  AND e.instruction_id > :after AND e.instruction_id <= :last
            ), keys AS (
                SELECT instruction_id AS k FROM batch
                UNION SELECT provider_request_key FROM batch WHERE provider_request_key IS NOT NULL
                UNION SELECT provider_tx_ref FROM batch WHERE provider_tx_ref IS NOT NULL
            ), candidates AS (
                SELECT l.statement_id, l.position, l.our_ref, l.provider_ref
                FROM reconciliation.statement_line l JOIN keys ON l.our_ref = keys.k
                UNION
                SELECT l.statement_id, l.position, l.our_ref, l.provider_ref
                FROM reconciliation.statement_line l JOIN keys ON l.provider_ref = keys.k
            )
            SELECT {_STORED_LIST}, s.format AS source
            FROM ({_target_sql("candidates l")}) t
            JOIN reconciliation.statement_line l USING (statement_id, position)
            JOIN reconciliation.statement s ON s.statement_id = l.statement_id
            WHERE NOT t.funding AND t.target IN (SELECT instruction_id FROM batch)
            ORDER BY s.imported_at, l.statement_id, l.position
            """,
            after=after,
            last=last,
        )
        old = [((row.statement_id, row.position), line_of(row)) for row in stored]
        staged = self._execute(
            f"SELECT {_STORED_LIST}, :format AS source FROM import_matched l"
            " WHERE NOT l.funding AND l.target > :after AND l.target <= :last"
            " ORDER BY l.position",
            format=statement_format.value,
            after=after,
            last=last,
        )
        return old, [line_of(row) for row in staged]

    def unmatched_lines(
        self, statement_format: StatementFormat, size: int
    ) -> Iterator[list[tuple[int, StatementLine, str | None]]]:
        """The staged lines that name no instruction (position, line, the funding it names if any),
        `size` at a time in position order."""
        after = -1
        while True:
            rows = self._execute(
                f"SELECT {_STORED_LIST}, :format AS source, l.target FROM import_matched l"
                " WHERE (l.target IS NULL OR l.funding) AND l.position > :after"
                " ORDER BY l.position LIMIT :size",
                format=statement_format.value,
                after=after,
                size=size,
            ).all()
            if not rows:
                return
            yield [(row.position, line_of(row), row.target) for row in rows]
            after = rows[-1].position

    def add_results(self, rows: Sequence[tuple[int, str, str | None, str | None, str | None]]) -> None:
        """(position, outcome, reference, matched_by, suggestions) of staged lines that name no instruction."""
        copy_rows(
            self.connection,
            "import_result",
            ("position", "outcome", "reference", "matched_by", "suggestions"),
            rows,
        )

    def add_outcomes(self, rows: Iterable[tuple[str, str, int]]) -> None:
        """(instruction id, outcome, settled amount) of expectations judged again, written by `store`."""
        copy_rows(self.connection, "import_outcome", ("instruction_id", "outcome", "settled_amount"), rows)

    def store(self, statement_id: UUID) -> dict[str, int]:
        """Move the staged lines into `statement_line` with their outcomes; their count per outcome."""
        columns = ", ".join(f'"{name}"' for name in LINE_COLUMNS)
        rows = self._execute(
            f"""
            WITH stored AS (
                INSERT INTO reconciliation.statement_line ({columns})
                SELECT {_STORED_LIST},
                       CASE WHEN r.position IS NOT NULL THEN r.outcome ELSE {_MATCHED_OUTCOME} END,
                       CASE WHEN r.position IS NOT NULL THEN r.reference ELSE l.target END,
                       CASE WHEN r.position IS NOT NULL THEN r.matched_by ELSE l.target_by END,
                       r.suggestions
                FROM import_matched l
                LEFT JOIN import_result r USING (position)
                WHERE l.statement_id = :statement_id
                RETURNING outcome
            )
            SELECT outcome, count(*) FROM stored GROUP BY outcome
            """,
            statement_id=statement_id,
        )
        counts = {str(outcome): int(count) for outcome, count in rows}
        self._execute(
            "UPDATE reconciliation.expectation e"
            " SET outcome = o.outcome, settled_amount = o.settled_amount, updated_at = now()"
            " FROM import_outcome o WHERE e.instruction_id = o.instruction_id"
        )
        return counts
