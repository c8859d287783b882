"""Cycles whose reconciliation changed and is not yet announced (`cycle.reconciled`).

The consumer judged payments' news in batches and published each changed cycle's whole summary with every
batch: in a 200,000-household full cycle, 136 summaries of 393 ms each (53 s, the largest statement of the
run). It now marks the cycle here, in the transaction that changed it, and publishes the cycles whose first
unannounced change is `reconciled_every_seconds` old (the consumer looks once a second, between polls) — one
summary per cycle at most that often, and about that long after the last change at the latest. The mark is durable: a consumer stopped between the change and the
announcement announces it when it starts again.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade(schema: str) -> None:
    op.execute(
        f'CREATE TABLE "{schema}".cycle_announcement ('
        "cycle_id uuid PRIMARY KEY, changed_at timestamptz NOT NULL DEFAULT now())"
    )
