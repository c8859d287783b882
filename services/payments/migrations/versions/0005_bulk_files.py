"""Bulk files for providers without an API (Orange-Money-style portal): the files handed to operators, and the
portal reports they bring back (kept whole; the same report twice is recognised by its digest).

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

DDL = """
CREATE TABLE "{s}".bulk_file (
    id          uuid PRIMARY KEY,
    cycle_id    uuid NOT NULL REFERENCES "{s}".cycle (id),
    provider    text NOT NULL,
    payments    integer NOT NULL,
    amount      bigint NOT NULL,
    content     bytea NOT NULL,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bulk_file_cycle ON "{s}".bulk_file (cycle_id);
CREATE TABLE "{s}".bulk_report (
    id           uuid PRIMARY KEY,
    provider     text NOT NULL,
    digest       text NOT NULL UNIQUE,
    content      bytea NOT NULL,
    outcome      jsonb NOT NULL,
    imported_by  text NOT NULL,
    imported_at  timestamptz NOT NULL DEFAULT now()
)
"""


def upgrade(schema: str) -> None:
    for statement in DDL.format(s=schema).split(";"):
        if statement.strip():
            op.execute(statement)
