"""SQLAlchemy Core tables of the enrolment schema (created by its Alembic migrations)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ColumnElement,
    Date,
    DateTime,
    Integer,
    MetaData,
    Table,
    Text,
    any_,
    literal,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

metadata = MetaData(schema="enrolment")


def among(column: ColumnElement[Any], ids: Iterable[uuid.UUID]) -> ColumnElement[bool]:
    """`column = ANY(array)`: one parameter however many ids (`IN` takes one each, at most 65,535)."""
    return column == any_(literal(list(ids), ARRAY(UUID(as_uuid=True))))


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
    Column("programme_ids", JSONB, nullable=False),
    Column("status", Text, nullable=False),
    Column("merged_into", UUID(as_uuid=True)),
    Column("import_id", UUID(as_uuid=True)),
    Column("created_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True)),
)

payment_details = Table(
    "payment_details",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("household_id", UUID(as_uuid=True), nullable=False),
    Column("msisdn", Text),
    Column("operator", Text),
    Column("effective_from", Date, nullable=False),
    Column("recorded_by", Text, nullable=False),
    Column("recorded_at", DateTime(timezone=True)),
)

programme = Table(
    "programme",
    metadata,
    Column("code", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("zone", JSONB, nullable=False),
    Column("duration_months", Integer, nullable=False),
    Column("targeting_method", Text, nullable=False),
    Column("capacity", Integer),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True)),
)

enrolment = Table(
    "enrolment",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("household_id", UUID(as_uuid=True), nullable=False),
    Column("programme_code", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("registered_at", DateTime(timezone=True), nullable=False),
    Column("started_on", Date),
    Column("validated_by", Text),
    Column("validated_at", DateTime(timezone=True)),
    Column("validated_where", Text),
    Column("exit_reason", Text),
    Column("updated_at", DateTime(timezone=True)),
)

temporary_enrolment = Table(
    "temporary_enrolment",
    metadata,
    Column("enrolment_id", UUID(as_uuid=True), primary_key=True),
    Column("shock", Text, nullable=False),
    Column("ends_on", Date),
    Column("max_cycles", Integer),
    Column("paid_cycles", Integer, nullable=False),
)

enrolment_transition = Table(
    "enrolment_transition",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("enrolment_id", UUID(as_uuid=True), nullable=False),
    Column("from_status", Text),
    Column("to_status", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("by", Text, nullable=False),
    Column("reason", Text),
    Column("validated_by", Text),
    Column("where", Text),
)

paid_cycle = Table(
    "paid_cycle",
    metadata,
    Column("enrolment_id", UUID(as_uuid=True), primary_key=True),
    Column("cycle_id", UUID(as_uuid=True), primary_key=True),
)

import_job = Table(
    "import_job",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("format", Text, nullable=False),
    Column("strict", Boolean, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("status", Text, nullable=False),
    Column("rows_total", Integer),
    Column("rows_done", Integer, nullable=False),
    Column("accepted", Integer, nullable=False),
    Column("rejected", Integer, nullable=False),
    Column("duplicates", Integer, nullable=False),
    Column("error", JSONB),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True)),
    Column("started_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
)

import_row = Table(
    "import_row",
    metadata,
    Column("import_id", UUID(as_uuid=True), primary_key=True),
    Column("row_number", Integer, primary_key=True),
    Column("outcome", Text, nullable=False),
    Column("rsu_id", Text),
    Column("household_id", UUID(as_uuid=True)),
    Column("field", Text),
    Column("reason", Text),
    Column("duplicate_of", UUID(as_uuid=True)),
)

duplicate_candidate = Table(
    "duplicate_candidate",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("household_id", UUID(as_uuid=True), nullable=False),
    Column("duplicate_of", UUID(as_uuid=True), nullable=False),
    Column("reason", Text, nullable=False),
    Column("score", Integer, nullable=False),
    Column("status", Text, nullable=False),
    Column("import_id", UUID(as_uuid=True)),
    Column("kept_id", UUID(as_uuid=True)),
    Column("decided_by", Text),
    Column("decided_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True)),
)
