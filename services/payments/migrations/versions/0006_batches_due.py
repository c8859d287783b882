"""GSMA batches the provider says are complete, waiting for their results to be read: one row per batch
(marking every item of a 2,000-item batch for a status query, then claiming each item, cost two updates
of every payment row, with their index entries, for what is one fact about the batch).

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade(schema: str) -> None:
    op.execute(
        f'CREATE TABLE "{schema}".batch_due ('
        "batch_key uuid PRIMARY KEY, provider text NOT NULL, added_at timestamptz NOT NULL DEFAULT now())"
    )
