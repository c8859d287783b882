"""Raw callbacks become an inbox (path key, batch flag, pending rows indexed); payments found by batch key.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

DDL = """
ALTER TABLE "{s}".raw_callback ADD COLUMN key text;
ALTER TABLE "{s}".raw_callback ADD COLUMN batch boolean NOT NULL DEFAULT false;
CREATE INDEX raw_callback_pending ON "{s}".raw_callback (id) WHERE outcome IS NULL;
CREATE INDEX payment_batch_key ON "{s}".payment (batch_key) WHERE batch_key IS NOT NULL;
"""


def upgrade(schema: str) -> None:
    for statement in DDL.format(s=schema).split(";"):
        if statement.strip():
            op.execute(statement)
