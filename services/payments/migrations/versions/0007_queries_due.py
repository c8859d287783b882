"""Payments sent one by one whose unsigned callback awaits an authenticated status query: one row per
payment in a queue (setting the payment's `needs_query`, then claiming it for the query, cost two updates of
the payment row and its index entries per payment — two of the five a payment took from release to result).
Taken in `seq` order, each take starting after the last one taken: the entries already taken stay in the
index as dead ones until the table is vacuumed, and a take from the start walked them all (~20 ms a take).

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade(schema: str) -> None:
    op.execute(
        f'CREATE TABLE "{schema}".query_due (payment_id uuid PRIMARY KEY, provider text NOT NULL, '
        "seq bigint GENERATED ALWAYS AS IDENTITY, added_at timestamptz NOT NULL DEFAULT now())"
    )
    op.execute(f'CREATE INDEX query_due_provider ON "{schema}".query_due (provider, seq)')
