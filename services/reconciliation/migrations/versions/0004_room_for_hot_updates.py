"""Room on each page of `expectation` for its rows' next versions, so that most updates touch no index.

An expectation is written for every piece of payment news (its state, then the outcome judged from it: two
updates when this was written, one since). Packed full, each update put the new version on another page and
added an entry to all five indexes: in a 50,000-household full cycle, 222,859 updates of 44,618 rows, 10,001 of
them HOT; the outcome update touched 27 buffers a row (2.37 million for 89,236 rows, 19.3 s of 166 s of
statement time). None of the columns those updates change is indexed, save `provider_tx_ref`, set once: with
30 % of each page free, the new version stays on its page and the indexes are left alone (heap-only tuples).

Only pages written from now on keep the room; existing pages fill as before until the table is rewritten.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade(schema: str) -> None:
    op.execute(f'ALTER TABLE "{schema}".expectation SET (fillfactor = 70)')
