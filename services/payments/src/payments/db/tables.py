"""SQLAlchemy Core tables of the payments schema (created by its Alembic migrations)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Integer, MetaData, Table, Text
from sqlalchemy.dialects.postgresql import UUID

metadata = MetaData(schema="payments")

beneficiary = Table(
    "beneficiary",
    metadata,
    Column("household_id", UUID(as_uuid=True), primary_key=True),
    Column("rsu_id", Text, nullable=False),
    Column("head_name", Text, nullable=False),
    Column("msisdn", Text),
    Column("operator", Text),
    Column("preferred_modality", Text, nullable=False),
    Column("size", Integer, nullable=False),
    Column("region", Text, nullable=False),
    Column("cercle", Text, nullable=False),
    Column("commune", Text, nullable=False),
    Column("village", Text),
    Column("pmt_score", Integer),
    Column("hea_category", Text),
    Column("merged_into", UUID(as_uuid=True)),
    Column("updated_at", DateTime(timezone=True)),
)


payment_history = Table(
    "payment_history",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("payment_id", UUID(as_uuid=True), nullable=False),
    Column("from_state", Text),
    Column("to_state", Text, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("at", DateTime(timezone=True)),
)
