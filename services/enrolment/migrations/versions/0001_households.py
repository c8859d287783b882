"""Plumbing tables and the household registry.

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
        CREATE TABLE "{schema}".household (
            id                 uuid PRIMARY KEY,
            rsu_id             text NOT NULL UNIQUE,
            head_name          text NOT NULL,
            head_sex           text CHECK (head_sex IN ('F', 'M')),
            head_birth_year    integer,
            nina               text,
            size               integer NOT NULL CHECK (size >= 1),
            region             text NOT NULL,
            cercle             text NOT NULL,
            commune            text NOT NULL,
            village            text,
            msisdn             text,
            operator           text,
            preferred_modality text NOT NULL DEFAULT 'mobile_money',
            pmt_score          integer,
            hea_category       text,
            created_at         timestamptz NOT NULL DEFAULT now(),
            updated_at         timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute(f'CREATE INDEX household_location ON "{schema}".household (region, cercle, commune)')
