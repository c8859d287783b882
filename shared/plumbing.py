"""Tables every service keeps in its own schema: outbox, inbox, dead letters, idempotency keys, relay state.

`PLUMBING_V1` is frozen DDL used by each service's first migration; a later change is a new constant and a
new migration, never an edit of this one.
"""

from __future__ import annotations

import functools

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.engine import Connection

PLUMBING_V1 = """
CREATE TABLE "{schema}".outbox (
    id           bigserial PRIMARY KEY,
    event_id     uuid NOT NULL UNIQUE,
    topic        text NOT NULL,
    key          text NOT NULL,
    type         text NOT NULL,
    payload      bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    partition    integer,
    "offset"     bigint
);
CREATE INDEX outbox_unpublished ON "{schema}".outbox (id) WHERE published_at IS NULL;
CREATE INDEX outbox_published_at ON "{schema}".outbox (published_at) WHERE published_at IS NOT NULL;

CREATE TABLE "{schema}".inbox (
    consumer    text NOT NULL,
    event_id    uuid NOT NULL,
    status      text NOT NULL DEFAULT 'applied' CHECK (status IN ('applied', 'parked')),
    applied_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

CREATE TABLE "{schema}".dead_letter (
    id          bigserial PRIMARY KEY,
    consumer    text NOT NULL,
    event_id    uuid,
    event_type  text,
    topic       text NOT NULL,
    partition   integer NOT NULL,
    "offset"    bigint NOT NULL,
    key         text,
    payload     bytea NOT NULL,
    reason      text NOT NULL,
    parked_at   timestamptz NOT NULL DEFAULT now(),
    replayed_at timestamptz
);

CREATE TABLE "{schema}".idempotency_key (
    principal    text NOT NULL,
    key          text NOT NULL,
    fingerprint  text NOT NULL,
    status_code  integer,
    response     bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (principal, key)
);

CREATE TABLE "{schema}".relay_state (
    name         text PRIMARY KEY,
    broker_epoch text
);
"""


def create_plumbing_v1(conn: Connection, schema: str) -> None:
    """Create the plumbing tables in `schema` (called from each service's first migration)."""
    for statement in PLUMBING_V1.format(schema=schema).split(";"):
        if statement.strip():
            conn.execute(text(statement))


class PlumbingTables:
    """SQLAlchemy Core handles on one schema's plumbing tables."""

    def __init__(self, schema: str) -> None:
        self.schema = schema
        metadata = MetaData(schema=schema)
        self.outbox = Table(
            "outbox",
            metadata,
            Column("id", BigInteger, primary_key=True),
            Column("event_id", PG_UUID(as_uuid=True), nullable=False),
            Column("topic", Text, nullable=False),
            Column("key", Text, nullable=False),
            Column("type", Text, nullable=False),
            Column("payload", LargeBinary, nullable=False),
            Column("created_at", DateTime(timezone=True)),
            Column("published_at", DateTime(timezone=True)),
            Column("partition", Integer),
            Column("offset", BigInteger),
        )
        self.inbox = Table(
            "inbox",
            metadata,
            Column("consumer", Text, primary_key=True),
            Column("event_id", PG_UUID(as_uuid=True), primary_key=True),
            Column("status", Text, nullable=False),
            Column("applied_at", DateTime(timezone=True)),
        )
        self.dead_letter = Table(
            "dead_letter",
            metadata,
            Column("id", BigInteger, primary_key=True),
            Column("consumer", Text, nullable=False),
            Column("event_id", PG_UUID(as_uuid=True)),
            Column("event_type", Text),
            Column("topic", Text, nullable=False),
            Column("partition", Integer, nullable=False),
            Column("offset", BigInteger, nullable=False),
            Column("key", Text),
            Column("payload", LargeBinary, nullable=False),
            Column("reason", Text, nullable=False),
            Column("parked_at", DateTime(timezone=True)),
            Column("replayed_at", DateTime(timezone=True)),
        )
        self.idempotency_key = Table(
            "idempotency_key",
            metadata,
            Column("principal", Text, primary_key=True),
            Column("key", Text, primary_key=True),
            Column("fingerprint", Text, nullable=False),
            Column("status_code", Integer),
            Column("response", LargeBinary),
            Column("created_at", DateTime(timezone=True)),
        )


@functools.cache
def plumbing_tables(schema: str) -> PlumbingTables:
    """One schema's handles, built once per process: building the tables cost more than a small transaction."""
    return PlumbingTables(schema)
