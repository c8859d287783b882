"""SQLAlchemy Core tables of the reconciliation schema (created by its Alembic migrations)."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, MetaData, Table, Text
from sqlalchemy.dialects.postgresql import UUID

metadata = MetaData(schema="reconciliation")

payee = Table(
    "payee",
    metadata,
    Column("household_id", UUID(as_uuid=True), primary_key=True),
    Column("rsu_id", Text, nullable=False),
    Column("head_name", Text, nullable=False),
    Column("msisdn", Text),
    Column("region", Text, nullable=False),
    Column("cercle", Text, nullable=False),
    Column("commune", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True)),
)
