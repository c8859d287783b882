"""Plumbing tables and the beneficiary projection (built from enrolment events only).

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
        CREATE TABLE "{schema}".beneficiary (
            household_id       uuid PRIMARY KEY,
            rsu_id             text NOT NULL,
            head_name          text NOT NULL,
            msisdn             text,
            operator           text,
            preferred_modality text NOT NULL,
            size               integer NOT NULL,
            region             text NOT NULL,
            cercle             text NOT NULL,
            commune            text NOT NULL,
            village            text,
            pmt_score          integer,
            hea_category       text,
            merged_into        uuid,
            updated_at         timestamptz NOT NULL DEFAULT now()
        )
        """
    )
