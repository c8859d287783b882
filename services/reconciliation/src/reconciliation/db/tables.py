"""SQLAlchemy Core tables of the reconciliation schema (created by its Alembic migrations)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Date, DateTime, Identity, Integer, MetaData, Table, Text
from sqlalchemy.dialects.postgresql import JSONB, UUID

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

cycle = Table(
    "cycle",
    metadata,
    Column("cycle_id", UUID(as_uuid=True), primary_key=True),
    Column("programme_code", Text),
    Column("period", Text),
    Column("state", Text, nullable=False),
    Column("planned_count", Integer),
    Column("planned_amount", BigInteger),
    Column("updated_at", DateTime(timezone=True)),
)

#: Cycles changed since their last `cycle.reconciled` (the consumer announces them a little later).
cycle_announcement = Table(
    "cycle_announcement",
    metadata,
    Column("cycle_id", UUID(as_uuid=True), primary_key=True),
    Column("changed_at", DateTime(timezone=True), nullable=False),
)

expectation = Table(
    "expectation",
    metadata,
    Column("instruction_id", Text, primary_key=True),
    Column("payment_id", UUID(as_uuid=True), nullable=False),
    Column("cycle_id", UUID(as_uuid=True), nullable=False),
    Column("programme_code", Text, nullable=False),
    Column("period", Text, nullable=False),
    Column("household_id", UUID(as_uuid=True), nullable=False),
    Column("provider", Text, nullable=False),
    Column("modality", Text, nullable=False),
    Column("payee", Text, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", Text, nullable=False),
    Column("region", Text, nullable=False),
    Column("cercle", Text, nullable=False),
    Column("commune", Text, nullable=False),
    Column("provider_request_key", Text),
    Column("provider_tx_ref", Text),
    Column("state", Text, nullable=False),
    Column("reported_status", Text),
    Column("instructed_on", Date, nullable=False),
    Column("confirmed_on", Date),
    Column("confirmed_amount", BigInteger),
    Column("outcome", Text),
    Column("settled_amount", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True)),
)

voucher = Table(
    "voucher",
    metadata,
    Column("voucher_id", UUID(as_uuid=True), primary_key=True),
    Column("payment_id", UUID(as_uuid=True), nullable=False),
    Column("cycle_id", UUID(as_uuid=True), nullable=False),
    Column("instruction_id", Text, nullable=False),
    Column("household_id", UUID(as_uuid=True), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("state", Text, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("vendor_id", Text),
    Column("redeemed_amount", BigInteger),
    Column("redeemed_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True)),
    Column("code", Text),
    Column("report_outcome", Text),
)

known_account = Table(
    "known_account",
    metadata,
    Column("account_id", Text, primary_key=True),
    Column("provider", Text, nullable=False),
    Column("added_by", Text, nullable=False),
    Column("added_at", DateTime(timezone=True)),
)

funding = Table(
    "funding",
    metadata,
    Column("reference", Text, primary_key=True),
    Column("amount", BigInteger, nullable=False),
    Column("added_by", Text, nullable=False),
    Column("added_at", DateTime(timezone=True)),
)

statement = Table(
    "statement",
    metadata,
    Column("statement_id", UUID(as_uuid=True), primary_key=True),
    Column("file_sha256", Text, nullable=False),
    Column("position", Integer, nullable=False),
    Column("format", Text, nullable=False),
    Column("account_id", Text, nullable=False),
    Column("provider", Text, nullable=False),
    Column("currency", Text, nullable=False),
    Column("reference", Text),
    Column("sequence_number", Integer),
    Column("period_start", Date),
    Column("period_end", Date),
    Column("covers_through", Date),
    Column("opening_balance", BigInteger, nullable=False),
    Column("closing_balance", BigInteger, nullable=False),
    Column("line_count", Integer, nullable=False),
    Column("checks", JSONB, nullable=False),
    Column("outcomes", JSONB, nullable=False),
    Column("imported_by", Text, nullable=False),
    Column("imported_at", DateTime(timezone=True)),
)

statement_line = Table(
    "statement_line",
    metadata,
    Column("statement_id", UUID(as_uuid=True), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("line_id", Text, nullable=False),
    Column("booking_date", Date, nullable=False),
    Column("value_date", Date, nullable=False),
    Column("direction", Text, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("raw_status", Text, nullable=False),
    Column("our_ref", Text),
    Column("provider_ref", Text),
    Column("counterparty_msisdn", Text),
    Column("counterparty_account", Text),
    Column("counterparty_name", Text),
    Column("return_reason", Text),
    Column("details", Text),
    Column("outcome", Text),
    Column("reference", Text),
    Column("matched_by", Text),
    Column("suggestions", Text),
)

discrepancy = Table(
    "discrepancy",
    metadata,
    Column("discrepancy_id", UUID(as_uuid=True), primary_key=True),
    Column("subject", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("cycle_id", UUID(as_uuid=True)),
    Column("instruction_id", Text),
    Column("statement_id", UUID(as_uuid=True)),
    Column("line_position", Integer),
    Column("severity", Text, nullable=False),
    Column("amount_at_stake", BigInteger, nullable=False),
    Column("suggested_action", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("resolution", Text),
    Column("resolved_by", Text),
    Column("resolved_at", DateTime(timezone=True)),
    Column("found_at", DateTime(timezone=True)),
    Column("report_id", UUID(as_uuid=True)),
    Column("report_position", Integer),
)

redemption_report = Table(
    "redemption_report",
    metadata,
    Column("report_id", UUID(as_uuid=True), primary_key=True),
    Column("seq", BigInteger, Identity(always=True)),
    Column("file_sha256", Text, nullable=False),
    Column("vendors", JSONB, nullable=False),
    Column("period_start", Date),
    Column("period_end", Date),
    Column("line_count", Integer, nullable=False),
    Column("rejected", JSONB, nullable=False),
    Column("outcomes", JSONB, nullable=False),
    Column("imported_by", Text, nullable=False),
    Column("imported_at", DateTime(timezone=True)),
)

redemption_line = Table(
    "redemption_line",
    metadata,
    Column("report_id", UUID(as_uuid=True), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("row_number", Integer, nullable=False),
    Column("vendor_id", Text, nullable=False),
    Column("code", Text, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", Text, nullable=False),
    Column("redeemed_at", DateTime(timezone=True), nullable=False),
    Column("receipt", Text),
    Column("outcome", Text),
    Column("voucher_id", UUID(as_uuid=True)),
)

redemption_coverage = Table(
    "redemption_coverage",
    metadata,
    Column("report_id", UUID(as_uuid=True), primary_key=True),
    Column("vendor_id", Text, primary_key=True),
    Column("first_day", Date, nullable=False),
    Column("last_day", Date, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", BigInteger, primary_key=True),
    Column("event_id", UUID(as_uuid=True)),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("actor", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("service", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("before", JSONB),
    Column("after", JSONB),
    Column("prev_hash", Text, nullable=False),
    Column("hash", Text, nullable=False),
)

audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Boolean, primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("hash", Text, nullable=False),
)
