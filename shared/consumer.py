"""The consumer loop: each polled batch is applied in one transaction with its inbox rows, then offsets commit.

Idempotent by construction: an event whose id is already in the inbox changes nothing. A batch that fails on
an infrastructure error (database or broker down) is retried with backoff and its offsets are not committed.
A batch that fails otherwise is replayed one event per transaction, so the one event that can never succeed
is parked in `dead_letter` with its reason while the rest flow. `filet deadletters replay` retries parked ones.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError, OperationalError

from shared import logs
from shared.events import Envelope, decode
from shared.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

Handler = Callable[[Any, Envelope], None]
"""A rule applied to one event inside the batch's unit of work: `(uow, envelope) -> None`."""


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...


@dataclass(frozen=True, slots=True)
class Delivery:
    """One record as the broker delivered it, before decoding."""

    topic: str
    partition: int
    offset: int
    key: str | None
    value: bytes


@dataclass(slots=True)
class Decoded:
    delivery: Delivery
    envelope: Envelope | None
    error: str | None


def is_infrastructure_error(error: BaseException) -> bool:
    """Errors worth retrying: the database or the network, not the event."""
    if isinstance(error, OperationalError):
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, ConnectionError | TimeoutError)


class Inbox:
    """Applies deliveries for one consumer name (the group), with the inbox and the dead-letter table."""

    def __init__(
        self, *, name: str, unit_of_work: UnitOfWorkFactory, handlers: Mapping[str, Handler]
    ) -> None:
        self.name = name
        self.unit_of_work = unit_of_work
        self.handlers = dict(handlers)

    def apply(self, deliveries: Sequence[Delivery]) -> None:
        """Apply a batch exactly once. Raises only infrastructure errors (the caller retries)."""
        decoded = [self._decode(delivery) for delivery in deliveries]
        good = [d for d in decoded if d.envelope is not None and d.envelope.type in self.handlers]
        poison = [d for d in decoded if d.error is not None]
        try:
            with self.unit_of_work() as uow:
                self._apply_all(uow, good)
                for item in poison:
                    self._park(uow, item, item.error or "undecodable")
                uow.commit()
            return
        except Exception as error:
            if is_infrastructure_error(error):
                raise
            log.warning("batch failed, isolating the event at fault", extra={"error": repr(error)})
        for item in good:
            self._apply_alone(item)
        if poison:
            with self.unit_of_work() as uow:
                for item in poison:
                    self._park(uow, item, item.error or "undecodable")
                uow.commit()

    def _decode(self, delivery: Delivery) -> Decoded:
        try:
            return Decoded(delivery, decode(delivery.value), None)
        except ValueError as error:
            return Decoded(delivery, None, f"undecodable event: {error}")

    def _apply_all(self, uow: UnitOfWork, items: Sequence[Decoded]) -> None:
        if not items:
            return
        fresh = self._claim(uow, [item.envelope.id for item in items if item.envelope is not None])
        for item in items:
            envelope = item.envelope
            if envelope is None or envelope.id not in fresh:
                continue
            fresh.discard(envelope.id)  # the same event twice in one batch applies once
            token = logs.event_id.set(str(envelope.id))
            try:
                self.handlers[envelope.type](uow, envelope)
            finally:
                logs.event_id.reset(token)
            uow.flush()

    def _claim(self, uow: UnitOfWork, event_ids: Sequence[UUID]) -> set[UUID]:
        inbox = uow.tables.inbox
        statement = (
            insert(inbox)
            .values(
                [{"consumer": self.name, "event_id": event_id, "status": "applied"} for event_id in event_ids]
            )
            .on_conflict_do_nothing()
            .returning(inbox.c.event_id)
        )
        return set(uow.connection.execute(statement).scalars())

    def _apply_alone(self, item: Decoded) -> None:
        try:
            with self.unit_of_work() as uow:
                self._apply_all(uow, [item])
                uow.commit()
        except Exception as error:
            if is_infrastructure_error(error):
                raise
            with self.unit_of_work() as uow:
                self._park(uow, item, f"{type(error).__name__}: {error}")
                uow.commit()

    def _park(self, uow: UnitOfWork, item: Decoded, reason: str) -> None:
        delivery = item.delivery
        envelope = item.envelope
        if envelope is not None:
            claimed = uow.connection.execute(
                insert(uow.tables.inbox)
                .values(consumer=self.name, event_id=envelope.id, status="parked")
                .on_conflict_do_nothing()
                .returning(uow.tables.inbox.c.event_id)
            ).first()
            if claimed is None:
                return  # already applied or already parked: a redelivery
        uow.connection.execute(
            uow.tables.dead_letter.insert().values(
                consumer=self.name,
                event_id=envelope.id if envelope else None,
                event_type=envelope.type if envelope else None,
                topic=delivery.topic,
                partition=delivery.partition,
                offset=delivery.offset,
                key=delivery.key,
                payload=delivery.value,
                reason=reason[:2000],
            )
        )
        log.error(
            "event parked in the dead-letter table",
            extra={"topic": delivery.topic, "offset": delivery.offset, "reason": reason[:500]},
        )

    def replay(self, dead_letter_ids: Sequence[int] | None = None) -> list[tuple[int, str]]:
        """Re-apply parked events (all, or the given ids). Returns (id, outcome) for each."""
        outcomes: list[tuple[int, str]] = []
        with self.unit_of_work() as uow:
            where = "consumer = :c AND replayed_at IS NULL"
            params: dict[str, Any] = {"c": self.name}
            if dead_letter_ids:
                where += " AND id = ANY(:ids)"
                params["ids"] = list(dead_letter_ids)
            rows = uow.connection.execute(
                text(f'SELECT id, payload FROM "{uow.schema}".dead_letter WHERE {where} ORDER BY id'), params
            ).all()
        for row in rows:
            try:
                envelope = decode(bytes(row.payload))
                handler = self.handlers.get(envelope.type)
                with self.unit_of_work() as uow:
                    if handler is not None:
                        handler(uow, envelope)
                    uow.connection.execute(
                        text(
                            f"UPDATE \"{uow.schema}\".inbox SET status = 'applied', applied_at = now() "
                            "WHERE consumer = :c AND event_id = :e"
                        ),
                        {"c": self.name, "e": envelope.id},
                    )
                    uow.connection.execute(
                        text(f'UPDATE "{uow.schema}".dead_letter SET replayed_at = now() WHERE id = :i'),
                        {"i": row.id},
                    )
                    uow.commit()
                outcomes.append((row.id, "applied"))
            except Exception as error:
                outcomes.append((row.id, f"still failing: {type(error).__name__}: {error}"))
        return outcomes


class ConsumerLoop:
    """Polls Kafka, hands batches to the inbox, commits offsets after the database commit."""

    def __init__(self, consumer: KafkaConsumer, inbox: Inbox, *, topics: Sequence[str] | None = None) -> None:
        self.consumer = consumer
        self.inbox = inbox
        self._batch_start: dict[TopicPartition, int] = {}
        if topics is not None:
            consumer.subscribe(list(topics))

    def poll_once(self, timeout_ms: int = 200) -> int:
        batch: dict[TopicPartition, list[Any]] = self.consumer.poll(timeout_ms=timeout_ms)
        if not batch:
            return 0
        deliveries: list[Delivery] = []
        offsets: dict[TopicPartition, OffsetAndMetadata] = {}
        self._batch_start = {partition: records[0].offset for partition, records in batch.items() if records}
        for partition, records in batch.items():
            for record in records:
                deliveries.append(
                    Delivery(
                        topic=record.topic,
                        partition=record.partition,
                        offset=record.offset,
                        key=record.key.decode() if record.key is not None else None,
                        value=bytes(record.value),
                    )
                )
            offsets[partition] = OffsetAndMetadata(records[-1].offset + 1, "", -1)
        self.inbox.apply(deliveries)
        if self.consumer.config.get("group_id") is not None:
            self.consumer.commit(offsets)
        return len(deliveries)

    def run(
        self, stop: threading.Event, *, tick: Callable[[], object] | None = None, every: float = 1.0
    ) -> None:
        """Poll until `stop`; between polls, `tick` (work of the service's own, e.g. announcing what changed)
        runs every `every` seconds, its infrastructure errors logged and tried again at the next tick."""
        backoff = 0.1
        next_tick = time.monotonic() + every
        while not stop.is_set():
            try:
                self.poll_once()
                backoff = 0.1
            except Exception as error:
                if not is_infrastructure_error(error) and not _is_kafka_error(error):
                    raise
                log.warning("infrastructure error, retrying the batch", extra={"error": repr(error)})
                self._rewind()
                stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
            if tick is not None and time.monotonic() >= next_tick:
                next_tick = time.monotonic() + every
                try:
                    tick()
                except Exception as error:
                    if not is_infrastructure_error(error):
                        raise
                    log.warning("infrastructure error in the consumer's tick", extra={"error": repr(error)})

    def _rewind(self) -> None:
        """After a failed batch, seek back to its first records so it is delivered again."""
        assigned = self.consumer.assignment()
        for partition, offset in self._batch_start.items():
            if partition in assigned:
                self.consumer.seek(partition, offset)
        self._batch_start = {}

    def close(self) -> None:
        self.consumer.close()


def _is_kafka_error(error: BaseException) -> bool:
    from kafka.errors import KafkaError

    return isinstance(error, KafkaError)
