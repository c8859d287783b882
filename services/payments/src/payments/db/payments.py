"""Payments (one attempt each, one per entitlement plus re-issues), their state history, claims and bulk updates."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, CursorResult, RowMapping, text

from payments.db.tables import payment_history
from shared.bulk import append_rows

FINAL_STATES = ("SUCCEEDED", "FAILED", "REJECTED", "CANCELLED", "REVERSED")
#: Every other state: what "not finished yet" is asked with (one index probe per state, see `released_unfinished`).
OPEN_STATES = ("CREATED", "APPROVED", "SUBMITTING", "SUBMITTED", "PENDING", "UNKNOWN")

_CREATE = """
WITH created AS (
    INSERT INTO "payments".payment (cycle_id, entitlement_id, household_id, instruction_id, attempt_no, reference,
        provider_request_key, modality, provider, payee_msisdn, amount, base_amount, top_up_amount, state)
    SELECT e.cycle_id, e.id, e.household_id, :prefix || lpad(e.sequence::text, 6, '0'), 1,
           :prefix || lpad(e.sequence::text, 6, '0'), gen_random_uuid(), e.modality, e.provider, e.payee_msisdn,
           e.base_amount + e.top_up_amount, e.base_amount, e.top_up_amount, :state
    FROM "payments".entitlement e
    WHERE e.cycle_id = :cycle_id AND NOT e.blocked AND e.reissue_of IS NULL
        AND NOT EXISTS (SELECT 1 FROM "payments".payment_identity i WHERE i.entitlement_id = e.id)
    RETURNING id, entitlement_id, reference, provider_request_key
), identity AS (
    INSERT INTO "payments".payment_identity (payment_id, entitlement_id, reference, provider_request_key)
    SELECT id, entitlement_id, reference, provider_request_key FROM created
), history AS (
    INSERT INTO "payments".payment_history (payment_id, from_state, to_state, outcome, reason, source)
    SELECT id, NULL, :state, 'transitioned', :reason, 'release' FROM created
)
SELECT count(*) FROM created
"""

#: What the dispatcher needs to send or query one payment, and what an `InstructedPayment` says.
_WORK_COLUMNS = """
p.id, p.cycle_id, p.household_id, p.instruction_id, p.attempt_no, p.reference, p.provider_request_key,
p.batch_key, p.batch_ref, p.modality, p.provider, p.payee_msisdn, p.amount, p.base_amount, p.top_up_amount,
p.state, p.provider_tx_ref, p.request_state_ref, p.failure_code, p.needs_query, p.reissue_of, p.queries,
e.payee_name, e.region, e.cercle, e.commune
"""


#: What applying news to a payment reads and writes (`record_payment_news`).
_NEWS_COLUMNS = (
    "id, cycle_id, instruction_id, attempt_no, reference, provider_request_key, modality, provider, amount, "
    "state, provider_tx_ref, request_state_ref, batch_key, batch_ref, failure_code, fee, needs_query"
)
#: What `write` sets; a payment whose news leaves these as they were is not written at all.
WRITTEN_COLUMNS = (
    "state",
    "provider_tx_ref",
    "request_state_ref",
    "batch_ref",
    "failure_code",
    "fee",
    "needs_query",
)
#: Not claimed for a while: the status-query back-off doubles with each query, up to 64 s.
_QUIET_LONG_ENOUGH = """(p.claimed_at IS NULL OR p.claimed_at < now() - make_interval(
    secs => LEAST(:backoff * power(2, LEAST(p.queries, 6)), 300)))"""


class PaymentRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def create_for_cycle(self, cycle_id: UUID, *, reference_prefix: str, state: str, reason: str) -> int:
        """One payment per payable entitlement, in one statement; a second call creates nothing."""
        return int(
            self.connection.execute(
                text(_CREATE),
                {"cycle_id": cycle_id, "prefix": reference_prefix, "state": state, "reason": reason},
            ).scalar_one()
        )

    def reissue_lines_to_pay(self, cycle_id: UUID) -> list[dict[str, Any]]:
        """The cycle's payable re-issue lines without a payment yet: the failed payment each re-issues, with the
        line's own columns as `line_…` (the re-issue is paid through the line)."""
        rows = self.connection.execute(
            text(
                "SELECT f.*, e.id AS line_entitlement_id, e.modality AS line_modality, e.provider AS line_provider, "
                'e.payee_msisdn AS line_msisdn FROM "payments".entitlement e '
                'JOIN "payments".payment f ON f.id = e.reissue_of '
                "WHERE e.cycle_id = :c AND NOT e.blocked AND NOT EXISTS ("
                'SELECT 1 FROM "payments".payment_identity i WHERE i.entitlement_id = e.id) ORDER BY e.sequence'
            ),
            {"c": cycle_id},
        ).mappings()
        return [dict(row) for row in rows]

    def add_reissues(self, rows: Sequence[Mapping[str, Any]], *, reason: str) -> None:
        """New attempts, one per failed payment (the `payment_reissued_once` index refuses a second), with their
        identities (`payment_identity`: one payment per line, reference and key)."""
        if not rows:
            return
        self.connection.execute(
            text(
                'INSERT INTO "payments".payment (id, cycle_id, entitlement_id, household_id, instruction_id, '
                "attempt_no, reference, provider_request_key, modality, provider, payee_msisdn, amount, base_amount, "
                "top_up_amount, state, reissue_of) VALUES (:id, :cycle_id, :entitlement_id, :household_id, "
                ":instruction_id, :attempt_no, :reference, :provider_request_key, :modality, :provider, "
                ":payee_msisdn, :amount, :base_amount, :top_up_amount, :state, :reissue_of)"
            ),
            list(rows),
        )
        self.connection.execute(
            text(
                'INSERT INTO "payments".payment_identity (payment_id, entitlement_id, reference, provider_request_key) '
                "VALUES (:id, :entitlement_id, :reference, :provider_request_key)"
            ),
            [
                {key: row[key] for key in ("id", "entitlement_id", "reference", "provider_request_key")}
                for row in rows
            ],
        )
        self.add_history(
            [
                {
                    "payment_id": row["id"],
                    "from_state": None,
                    "to_state": row["state"],
                    "outcome": "transitioned",
                    "reason": f"{reason}; re-issues {row['reissued_reference']}",
                    "source": "release",
                    "at": row["at"],
                }
                for row in rows
            ]
        )

    def household_ids(self, cycle_id: UUID) -> list[UUID]:
        return list(
            self.connection.execute(
                text(
                    'SELECT household_id FROM "payments".payment WHERE cycle_id = :c AND reissue_of IS NULL'
                ),
                {"c": cycle_id},
            ).scalars()
        )

    def claim_to_send(
        self,
        provider: str,
        *,
        limit: int,
        batch_key: UUID | None,
        after: UUID | None = None,
        cycle_id: UUID | None = None,
    ) -> list[dict[str, Any]]:
        """Approved payments of released cycles, moved to SUBMITTING (their key is fixed before any call).

        Payments are created APPROVED by the release, in its transaction, and a released cycle can be neither
        cancelled nor closed while one is left APPROVED: no join with the cycle is needed. (With one, the
        planner, misled by statistics a release has just outdated, fetched and sorted every approved payment
        of the provider on each claim: 130–350 ms a claim at 100,000.) `payment_to_send` serves the query.

        `after`: only ids above it. The claimed rows leave the partial index on approved payments only when
        vacuumed; until then every claim from the start walks past all those claimed before it (quadratic
        in a release's size). The dispatcher passes the last id it claimed, and starts from the beginning
        again whenever a claim comes back short, so an approved payment below the mark is never left out.
        (Two statements rather than `:after IS NULL OR …`: a prepared statement's generic plan could not
        start the index scan at the mark.)
        """
        rows = self.connection.execute(
            text(
                f"""
                WITH chosen AS (
                    SELECT p.id FROM "payments".payment p
                    WHERE p.provider = :provider AND p.state = 'APPROVED'
                        {"AND p.id > CAST(:after AS uuid)" if after is not None else ""}
                        {"AND p.cycle_id = :cycle_id" if cycle_id is not None else ""}
                    ORDER BY p.id LIMIT :limit FOR UPDATE OF p SKIP LOCKED
                ), claimed AS (
                    UPDATE "payments".payment p SET state = 'SUBMITTING', claimed_at = now(), updated_at = now(),
                        sends = sends + 1, batch_key = CAST(:batch_key AS uuid)
                    FROM chosen WHERE p.id = chosen.id RETURNING p.*
                ), history AS (
                    INSERT INTO "payments".payment_history (payment_id, from_state, to_state, outcome, reason, source)
                    SELECT id, 'APPROVED', 'SUBMITTING', 'transitioned', 'claimed for sending', 'dispatcher'
                    FROM claimed
                )
                SELECT {_WORK_COLUMNS.replace("p.", "claimed.")}
                FROM claimed JOIN "payments".entitlement e ON e.id = claimed.entitlement_id
                ORDER BY claimed.id
                """
            ),
            {
                "provider": provider,
                "limit": limit,
                "batch_key": batch_key,
                "after": after,
                "cycle_id": cycle_id,
            },
        )
        return _records(rows)

    def claim_to_query(self, provider: str, *, limit: int, backoff_seconds: float) -> list[dict[str, Any]]:
        """Payments sent one by one, in doubt or awaiting confirmation, not looked at for a while (backing off
        per query)."""
        return self._claim_for_query(
            """
            SELECT p.id FROM "payments".payment p
            WHERE p.provider = :provider AND p.needs_query AND p.batch_key IS NULL AND """
            + _QUIET_LONG_ENOUGH
            + """
            ORDER BY p.id LIMIT :limit FOR UPDATE OF p SKIP LOCKED
            """,
            {"provider": provider, "limit": limit, "backoff": backoff_seconds},
        )

    def claim_batches_to_query(
        self, provider: str, *, batches: int, backoff_seconds: float
    ) -> list[dict[str, Any]]:
        """Whole batches (every member awaiting a query) with a member due for one: a batch is settled, and
        if the provider never received it sent again, as one — never a part of it under the batch's key.

        The batch keys go through an array (`= ANY(ARRAY(…))`, chosen once): as `IN (…)`, planned on statistics
        from before the release (no payment flagged), the planner joined every flagged payment with the
        batches in a nested loop — 14 s a claim in the full-cycle benchmark (50,000 households, auto_explain)
        once the quiet sweep had flagged a few thousand payments.

        Both scans go through `payment_to_query_batch` (flagged batch items only, by provider and batch): the
        batches are picked in key order, reading only their flagged items. The outer scan spells out the
        provider and `batch_key IS NOT NULL` (implied by the keys) so that the planner can use that index. Before it (migration 0011), the
        choice read every item of every batch of the provider, and the claim of payments sent one by one
        stepped over the flagged batch items: 150–200 ms a pass each, several passes a second, in the
        200,000-household full cycle (auto_explain), most of PostgreSQL's time while nothing was due.
        """
        return self._claim_for_query(
            """
            SELECT p.id FROM "payments".payment p
            WHERE p.provider = :provider AND p.needs_query AND p.batch_key IS NOT NULL
            AND p.batch_key = ANY(ARRAY(
                SELECT DISTINCT p.batch_key FROM "payments".payment p
                WHERE p.provider = :provider AND p.needs_query AND p.batch_key IS NOT NULL AND """
            + _QUIET_LONG_ENOUGH
            + """
                LIMIT :batches)) AND """
            # Checked again once the lock is granted: members another dispatcher has just claimed are left.
            + _QUIET_LONG_ENOUGH
            + """
            ORDER BY p.id FOR UPDATE OF p
            """,
            {"provider": provider, "batches": batches, "backoff": backoff_seconds},
        )

    def _claim_for_query(self, chosen: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        rows = self.connection.execute(
            text(
                f"""
                WITH chosen AS ({chosen}), claimed AS (
                    UPDATE "payments".payment p SET claimed_at = now(), queries = queries + 1
                    FROM chosen WHERE p.id = chosen.id RETURNING p.*
                )
                SELECT {_WORK_COLUMNS.replace("p.", "claimed.")}
                FROM claimed JOIN "payments".entitlement e ON e.id = claimed.entitlement_id
                ORDER BY claimed.id
                """
            ),
            params,
        )
        return _records(rows)

    def put_stale_in_doubt(self, *, older_than_seconds: float) -> list[dict[str, Any]]:
        """SUBMITTING for too long (a dispatcher died mid-send): in doubt, to be settled by a status query."""
        rows = self.connection.execute(
            text(
                """
                WITH stale AS (
                    UPDATE "payments".payment p SET state = 'UNKNOWN', needs_query = true, failure_code = 'TIMEOUT',
                        updated_at = now(), claimed_at = NULL
                    WHERE p.id IN (SELECT id FROM "payments".payment WHERE state = 'SUBMITTING'
                                   AND claimed_at < now() - make_interval(secs => :age) FOR UPDATE SKIP LOCKED)
                    RETURNING p.*
                ), history AS (
                    INSERT INTO "payments".payment_history (payment_id, from_state, to_state, outcome, reason, source)
                    SELECT id, 'SUBMITTING', 'UNKNOWN', 'transitioned', 'no recorded answer to the send', 'dispatcher'
                    FROM stale
                )
                SELECT id, cycle_id, reference, provider, state FROM stale
                """
            ),
            {"age": older_than_seconds},
        ).mappings()
        return [dict(row) for row in rows]

    def flag_quiet(self, *, older_than_seconds: float) -> int:
        """Submitted or pending payments with no news for a while get a status query (missed callbacks)."""
        # Rows another transaction holds are being worked on (not quiet): skipped, never waited for.
        # The ids go through an array (an index lookup per id): joined, the planner hashed them against
        # every payment (~560 ms a sweep at 200,000, auto_explain).
        return self.connection.execute(
            text(
                'UPDATE "payments".payment p SET needs_query = true WHERE p.id = ANY(ARRAY('
                'SELECT id FROM "payments".payment '
                "WHERE state IN ('SUBMITTED', 'PENDING') AND NOT needs_query "
                "AND updated_at < now() - make_interval(secs => :age) "
                'AND NOT EXISTS (SELECT 1 FROM "payments".query_due q WHERE q.payment_id = payment.id) '
                "FOR UPDATE SKIP LOCKED))"
            ),
            {"age": older_than_seconds},
        ).rowcount

    def lock(self, payment_ids: Sequence[UUID]) -> dict[UUID, dict[str, Any]]:
        """The payments news is about, locked, with what applying news needs (not every column: the rows
        are read three times per payment sent one by one, and converting unused columns cost ~5 %)."""
        rows = self.connection.execute(
            text(
                f'SELECT {_NEWS_COLUMNS} FROM "payments".payment WHERE id = ANY(CAST(:ids AS uuid[])) '
                "ORDER BY id FOR UPDATE"
            ),
            {"ids": list(payment_ids)},
        )
        return {record["id"]: record for record in _records(rows)}

    def write(self, changes: Sequence[Mapping[str, Any]]) -> None:
        """Bulk update of state and what the providers told us, one statement over arrays."""
        if not changes:
            return
        columns = WRITTEN_COLUMNS
        types = ("text", "text", "text", "text", "text", "bigint", "boolean")
        self.connection.execute(
            text(
                'UPDATE "payments".payment p SET '
                + ", ".join(f"{column} = u.{column}" for column in columns)
                + ", updated_at = now(), claimed_at = CASE WHEN u.state = 'SUBMITTING' THEN now() ELSE p.claimed_at END"
                # The status-query back-off starts again from the first step once the state has moved.
                + ", queries = CASE WHEN u.state IS DISTINCT FROM p.state THEN 0 ELSE p.queries END"
                + " FROM unnest(CAST(:id AS uuid[]), "
                + ", ".join(
                    f"CAST(:{column} AS {kind}[])" for column, kind in zip(columns, types, strict=True)
                )
                + ") AS u(id, "
                + ", ".join(columns)
                + ") WHERE p.id = u.id"
            ),
            {"id": [change["id"] for change in changes]}
            | {column: [change[column] for change in changes] for column in columns},
        )

    def add_history(self, rows: Sequence[Mapping[str, Any]]) -> None:
        append_rows(self.connection, payment_history, rows)

    def mark_batches_for_query(self, batch_keys: Iterable[UUID]) -> dict[UUID, int]:
        """Every unfinished item of these batches gets a status query; how many per batch.

        The rows are locked in id order, as every other writer of payments locks them (`lock`): locked in
        the table's order instead, a batch's completion arriving while its send answer was being recorded
        deadlocked the two transactions.
        """
        keys = sorted(set(batch_keys))
        if not keys:
            return {}
        marked = self.connection.execute(
            text(
                'UPDATE "payments".payment p SET needs_query = true, claimed_at = NULL FROM ('
                'SELECT id FROM "payments".payment WHERE batch_key = ANY(CAST(:keys AS uuid[])) '
                f"AND state NOT IN {FINAL_STATES} ORDER BY id FOR UPDATE) AS chosen "
                "WHERE p.id = chosen.id RETURNING p.batch_key"
            ),
            {"keys": keys},
        ).scalars()
        counts = dict.fromkeys(keys, 0)
        for key in marked:
            counts[key] += 1
        return counts

    def add_due_batches(self, batch_keys: Iterable[UUID]) -> dict[UUID, int]:
        """Batches the provider says are complete, queued for their results to be read (`take_due_batches`);
        how many items of each are not final yet (0 for a batch we do not know). No payment row is written."""
        keys = sorted(set(batch_keys))
        if not keys:
            return {}
        rows = self.connection.execute(
            text(
                f"""
                WITH members AS (
                    SELECT batch_key, min(provider) AS provider,
                           count(*) FILTER (WHERE state NOT IN {FINAL_STATES}) AS open
                    FROM "payments".payment WHERE batch_key = ANY(CAST(:keys AS uuid[])) GROUP BY batch_key
                ), added AS (
                    INSERT INTO "payments".batch_due (batch_key, provider)
                    SELECT batch_key, provider FROM members WHERE open > 0 ON CONFLICT DO NOTHING
                )
                SELECT batch_key, open FROM members
                """
            ),
            {"keys": keys},
        ).all()
        counts = dict.fromkeys(keys, 0)
        counts.update({key: int(open_items) for key, open_items in rows})
        return counts

    def take_due_batches(self, provider: str, *, batches: int) -> list[dict[str, Any]]:
        """The unfinished items of up to `batches` complete batches, taken off the queue (another dispatcher
        skips them). Their rows are not claimed: whoever settles them records news under row locks, and items
        left unsettled are marked for a status query (`mark_batches_for_query`) or found quiet later.

        The keys go through an array (`= ANY(ARRAY(…))`, an index lookup per key): as `IN (…)`, the generic
        plan hashed the keys and read every open payment (~390 ms at 200,000, auto_explain)."""
        rows = self.connection.execute(
            text(
                f"""
                WITH due AS (
                    DELETE FROM "payments".batch_due WHERE batch_key IN (
                        SELECT batch_key FROM "payments".batch_due WHERE provider = :provider
                        ORDER BY added_at LIMIT :batches FOR UPDATE SKIP LOCKED)
                    RETURNING batch_key
                )
                SELECT {_WORK_COLUMNS}
                FROM "payments".payment p JOIN "payments".entitlement e ON e.id = p.entitlement_id
                WHERE p.batch_key = ANY(ARRAY(SELECT batch_key FROM due)) AND p.state NOT IN {FINAL_STATES}
                ORDER BY p.id
                """
            ),
            {"provider": provider, "batches": batches},
        )
        return _records(rows)

    def add_due_queries(self, payments: Mapping[UUID, str]) -> None:
        """Payments (id → provider) whose unsigned callback awaits a status query, queued for one
        (`take_due_queries`) instead of being flagged: the payment row is not written."""
        if not payments:
            return
        ids = sorted(payments)
        self.connection.execute(
            text(
                'INSERT INTO "payments".query_due (payment_id, provider) '
                "SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:providers AS text[])) ON CONFLICT DO NOTHING"
            ),
            {"ids": ids, "providers": [payments[payment_id] for payment_id in ids]},
        )

    def take_due_queries(
        self, provider: str, *, limit: int, after: int | None = None
    ) -> tuple[list[dict[str, Any]], int | None]:
        """Up to `limit` payments of the queue, in the order queued (only those queued after `after`), taken
        off it (another dispatcher skips them): those not final yet with what a status query needs, and the
        last queue position among them (None if none). Their rows are not claimed: the answer is recorded under
        row locks; a payment the query could not settle is flagged (`flag_for_query`), and one lost with a
        dead dispatcher is found quiet later (`flag_quiet`).

        The ids go through arrays (`= ANY(ARRAY(…))`): as `IN (…)` and joins, the planner hashed the whole
        queue and the whole payment table on each take (75 ms a take at 100,000 payments).

        `after`: entries already taken stay in the index as dead ones until the table is vacuumed, and a take
        from the start walks them all. The dispatcher passes the last position it took, and starts from the
        beginning again every few seconds for entries committed out of order below it.
        """
        rows = _records(
            self.connection.execute(
                text(
                    f"""
                    WITH due AS (
                        DELETE FROM "payments".query_due WHERE payment_id = ANY(ARRAY(
                            SELECT payment_id FROM "payments".query_due WHERE provider = :provider
                            {"AND seq > :after" if after is not None else ""}
                            ORDER BY seq LIMIT :limit FOR UPDATE SKIP LOCKED))
                        RETURNING payment_id, seq
                    )
                    SELECT {_WORK_COLUMNS}, (SELECT max(seq) FROM due) AS queue_position
                    FROM "payments".payment p JOIN "payments".entitlement e ON e.id = p.entitlement_id
                    WHERE p.id = ANY(ARRAY(SELECT payment_id FROM due)) AND p.state NOT IN {FINAL_STATES}
                    ORDER BY p.id
                    """
                ),
                {"provider": provider, "limit": limit, "after": after},
            )
        )
        positions = [row.pop("queue_position") for row in rows]
        return rows, positions[0] if positions else None

    def flag_for_query(self, payment_ids: Sequence[UUID]) -> None:
        """Taken off the queue but not settled by the query (no answer, or none final): flagged for status
        queries with back-off, as if claimed once just now."""
        if not payment_ids:
            return
        self.connection.execute(
            text(
                'UPDATE "payments".payment p SET needs_query = true, claimed_at = now(), queries = queries + 1 '
                'FROM (SELECT id FROM "payments".payment WHERE id = ANY(CAST(:ids AS uuid[])) '
                f"AND state NOT IN {FINAL_STATES} ORDER BY id FOR UPDATE) AS chosen WHERE p.id = chosen.id"
            ),
            {"ids": sorted(payment_ids)},
        )

    def by_keys(self, provider_request_keys: Iterable[UUID]) -> dict[UUID, dict[str, Any]]:
        """The payments holding these keys (what matching a callback needs), by key."""
        rows = self.connection.execute(
            text(
                'SELECT payment_id AS id, reference, provider_request_key FROM "payments".payment_identity '
                "WHERE provider_request_key = ANY(CAST(:k AS uuid[]))"
            ),
            {"k": list(provider_request_keys)},
        ).mappings()
        return {row["provider_request_key"]: dict(row) for row in rows}

    def by_references(self, references: Iterable[str]) -> dict[str, UUID]:
        rows = self.connection.execute(
            text(
                'SELECT reference, payment_id FROM "payments".payment_identity WHERE reference = ANY(CAST(:r AS text[]))'
            ),
            {"r": list(references)},
        ).all()
        return {str(reference): payment_id for reference, payment_id in rows}

    def get(self, payment_id: UUID) -> dict[str, Any] | None:
        row = (
            self.connection.execute(
                text(f'SELECT p.*, {_AWAITS_QUERY} FROM "payments".payment p WHERE id = :i'),
                {"i": payment_id},
            )
            .mappings()
            .first()
        )
        return _with_queued_query(row) if row else None

    def history(self, payment_id: UUID) -> list[dict[str, Any]]:
        rows = self.connection.execute(
            text(
                'SELECT from_state, to_state, outcome, reason, source, at FROM "payments".payment_history '
                "WHERE payment_id = :i ORDER BY id"
            ),
            {"i": payment_id},
        ).mappings()
        return [dict(row) for row in rows]

    def page(
        self, cycle_id: UUID, *, state: str | None, limit: int, offset: int
    ) -> tuple[int, list[dict[str, Any]]]:
        where = "cycle_id = :c" + (" AND state = :s" if state else "")
        params: dict[str, Any] = {"c": cycle_id, "s": state, "l": limit, "o": offset}
        total = int(
            self.connection.execute(
                text(f'SELECT count(*) FROM "payments".payment WHERE {where}'), params
            ).scalar_one()
        )
        rows = self.connection.execute(
            text(
                f'SELECT p.*, {_AWAITS_QUERY} FROM "payments".payment p WHERE {where} '
                "ORDER BY reference LIMIT :l OFFSET :o"
            ),
            params,
        ).mappings()
        return total, [_with_queued_query(row) for row in rows]

    def approved_vouchers(self, cycle_id: UUID) -> list[dict[str, Any]]:
        rows = self.connection.execute(
            text(
                "SELECT * FROM \"payments\".payment WHERE cycle_id = :c AND modality = 'voucher' "
                "AND state = 'APPROVED' ORDER BY reference"
            ),
            {"c": cycle_id},
        ).mappings()
        return [dict(row) for row in rows]

    def cycle_figures(self, cycle_id: UUID) -> tuple[dict[str, int], dict[str, int]]:
        rows = self.connection.execute(
            text(
                'SELECT state, count(*), sum(amount) FROM "payments".payment WHERE cycle_id = :c GROUP BY state'
            ),
            {"c": cycle_id},
        ).all()
        return {str(s): int(n) for s, n, _ in rows}, {str(s): int(a) for s, _, a in rows}


#: Whether a payment waits in the status-query queue (`add_due_queries`), for what operators see.
_AWAITS_QUERY = 'EXISTS (SELECT 1 FROM "payments".query_due q WHERE q.payment_id = p.id) AS queued_for_query'


def _with_queued_query(row: RowMapping) -> dict[str, Any]:
    """The payment as operators see it: `needs_query` also when it waits in the queue."""
    payment = dict(row)
    payment["needs_query"] = bool(payment["needs_query"] or payment.pop("queued_for_query"))
    return payment


def _records(result: CursorResult[Any]) -> list[dict[str, Any]]:
    """Every row as a dict, fetched at once (iterating `.mappings()` row by row cost ~5 % of the dispatcher)."""
    keys = list(result.keys())
    return [dict(zip(keys, row, strict=True)) for row in result.all()]
