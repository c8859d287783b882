"""SQLAlchemy Core tables of the enrolment schema (created by its Alembic migrations)."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Integer, MetaData, Table, Text
from sqlalchemy.dialects.postgresql import UUID

metadata = MetaData(schema="enrolment")

household = Table(
    "household",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("rsu_id", Text, nullable=False, unique=True),
    Column("head_name", Text, nullable=False),
    Column("head_sex", Text),
    Column("head_birth_year", Integer),
    Column("nina", Text),
    Column("size", Integer, nullable=False),
    Column("region", Text, nullable=False),
    Column("cercle", Text, nullable=False),
    Column("commune", Text, nullable=False),
    Column("village", Text),
    Column("msisdn", Text),
    Column("operator", Text),
    Column("preferred_modality", Text, nullable=False),
    Column("pmt_score", Integer),
    Column("hea_category", Text),
    Column("created_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True)),
)
