"""Plumbing tables and the payee directory (built from enrolment events only).

Revision ID: 0001
Revises:
"""

from alembic import op

from shared.plumbing import create_plumbing_v1

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade(schema: str) -> None:
    create_plumbing_v1(op.get_bind(), schema)
    op.execute(
        f"""
        CREATE TABLE "{schema}".payee (
            household_id uuid PRIMARY KEY,
            rsu_id       text NOT NULL,
            head_name    text NOT NULL,
            msisdn       text,
            region       text NOT NULL,
            cercle       text NOT NULL,
            commune      text NOT NULL,
            updated_at   timestamptz NOT NULL DEFAULT now()
        )
        """
    )
