"""Payments flagged for a status query, indexed apart: those sent one by one, and the items of batches.

`payment_to_query` held both, by provider and id. A GSMA batch is settled whole, so thousands of its items
can be flagged at once; the claim of payments sent one by one then stepped over all of them on every pass
(41,541 rows removed by its filter, ~160 ms), and the choice of batches to settle read every item of every
batch of the provider (83,541 rows, ~200 ms), several passes a second in the 200,000-household full cycle
(auto_explain). Each payment is in at most one of the two new indexes, as it was in the one before: a state
change writes no more index entries than it did.

Revision ID: 0011
Revises: 0010
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

DDL = """
CREATE INDEX payment_to_query_one ON "{s}".payment (provider, id) WHERE needs_query AND batch_key IS NULL;
CREATE INDEX payment_to_query_batch ON "{s}".payment (provider, batch_key) WHERE needs_query AND batch_key IS NOT NULL;
DROP INDEX "{s}".payment_to_query
"""


def upgrade(schema: str) -> None:
    for statement in DDL.format(s=schema).split(";\n"):
        if statement.strip():
            op.execute(statement)
