"""The unit of work: one transaction holding a state change and the outbox rows of the events it caused."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from pydantic import BaseModel
from sqlalchemy import Connection, Engine, RootTransaction

from shared.bulk import append_rows
from shared.events import Envelope, encode, new_envelope
from shared.events.catalogue import topic_name, topic_of
from shared.plumbing import plumbing_tables


class UnitOfWork:
    """Opened by the edge (a request or a consumed batch), committed by the edge; use cases never commit.

    `publish` queues an event; `commit` writes the queued outbox rows in one statement and commits them
    with the state they describe, so an event exists if and only if its change does.
    """

    def __init__(self, engine: Engine, *, schema: str, source: str, topic_prefix: str) -> None:
        self.engine = engine
        self.schema = schema
        self.source = source
        self.topic_prefix = topic_prefix
        self.tables = plumbing_tables(schema)
        self._pending: list[Envelope] = []
        self._connection: Connection | None = None
        self._transaction: RootTransaction | None = None

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            raise RuntimeError("the unit of work is not open")
        return self._connection

    def __enter__(self) -> Self:
        self._connection = self.engine.connect()
        self._transaction = self._connection.begin()
        self._pending = []
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if self._transaction is not None and self._transaction.is_active:
                self._transaction.rollback()
        finally:
            if self._connection is not None:
                self._connection.close()
            self._connection = None
            self._transaction = None
            self._pending = []

    def publish(self, data: BaseModel, *, subject: str) -> Envelope:
        """Queue an event about `subject` (the aggregate id, which becomes the Kafka key)."""
        envelope = new_envelope(source=self.source, data=data, subject=subject)
        self._pending.append(envelope)
        return envelope

    def flush(self) -> None:
        """Write queued events to the outbox (inside the open transaction)."""
        if not self._pending:
            return
        rows = [
            {
                "event_id": envelope.id,
                "topic": topic_name(self.topic_prefix, topic_of(envelope.type)),
                "key": envelope.key,
                "type": envelope.type,
                "payload": encode(envelope),
            }
            for envelope in self._pending
        ]
        append_rows(self.connection, self.tables.outbox, rows)
        self._pending = []

    def commit(self) -> None:
        self.flush()
        if self._transaction is None:
            raise RuntimeError("the unit of work is not open")
        self._transaction.commit()

    def rollback(self) -> None:
        self._pending = []
        if self._transaction is not None and self._transaction.is_active:
            self._transaction.rollback()
