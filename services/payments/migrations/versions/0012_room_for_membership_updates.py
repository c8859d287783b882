"""Room on each page of `membership` for its rows' next versions, so that a membership's moves touch no index.

Payments hears each enrolment move (registered, targeted, validated, active, …) and upserts the household's
membership: in the 200,000-household full cycle, 580,575 updates of 193,525 rows, 173 of them HOT. Packed
full, every update put the new version on another page and wrote an entry in both indexes. No column those
updates change is indexed: with half of each page free, the new version stays on its page.

Only pages written from now on keep the room; existing pages fill as before until the table is rewritten.

Revision ID: 0012
Revises: 0011
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade(schema: str) -> None:
    op.execute(f'ALTER TABLE "{schema}".membership SET (fillfactor = 50)')
