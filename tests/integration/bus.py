"""Test helpers for the event bus: a countable effect, manual consumers, deadlines instead of sleeps."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence

from kafka import KafkaConsumer, TopicPartition
from sqlalchemy import Engine, text

from shared.consumer import ConsumerLoop, Handler, Inbox
from shared.errors import DomainError
from shared.events import Envelope, Topic, topic_name
from shared.events.contracts import AuditRecorded
from shared.kafka import build_consumer, ensure_topics
from shared.relay import Relay
from shared.settings import Settings
from shared.unit_of_work import UnitOfWork

SCHEMA = "payments"  # the plumbing tables of any service will do; these tests use the payments schema


def wait_until(predicate: Callable[[], bool], *, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def unit_of_work(engine: Engine, settings: Settings) -> Callable[[], UnitOfWork]:
    def factory() -> UnitOfWork:
        return UnitOfWork(engine, schema=SCHEMA, source="/filet/tests", topic_prefix=settings.topic_prefix)

    return factory


def record_effect(uow: UnitOfWork, event: Envelope) -> None:
    """A deliberately non-idempotent effect: one row per application, so doubles would show."""
    assert isinstance(event.data, AuditRecorded)
    if event.data.action == "poison":
        raise DomainError("this event breaks a rule and can never succeed")
    uow.connection.execute(
        text("INSERT INTO testing.effect (event_id, note) VALUES (:e, :n)"),
        {"e": event.id, "n": event.data.subject},
    )


EFFECT_HANDLERS: Mapping[str, Handler] = {"audit.recorded": record_effect}


def audit_event(subject: str, action: str = "test.act") -> AuditRecorded:
    from datetime import UTC, datetime

    return AuditRecorded(
        occurred_at=datetime.now(UTC),
        service="tests",
        actor="tester",
        role="operator",
        action=action,
        subject=subject,
    )


def publish(
    engine: Engine, settings: Settings, subjects: Sequence[str], action: str = "test.act"
) -> list[uuid.UUID]:
    """Commit one audit event per subject into the outbox (one transaction); returns their ids."""
    with unit_of_work(engine, settings)() as uow:
        ids = [uow.publish(audit_event(subject, action), subject=subject).id for subject in subjects]
        uow.commit()
    return ids


def relay(engine: Engine, settings: Settings, **overrides: object) -> Relay:
    options: dict[str, object] = {
        "schema": SCHEMA,
        "bootstrap": settings.require_kafka(),
        "topic_prefix": settings.topic_prefix,
        "partitions": settings.topic_partitions,
        "batch_size": 500,
    }
    options.update(overrides)
    return Relay(engine, **options)  # type: ignore[arg-type]


def drain(relay: Relay) -> int:
    """Publish until the outbox is empty; returns rows published."""
    relay.check_epoch()
    total = 0
    while published := relay.publish_batch():
        total += published
    return total


def manual_loop(
    engine: Engine, settings: Settings, *, handlers: Mapping[str, Handler] = EFFECT_HANDLERS
) -> ConsumerLoop:
    """A consumer assigned every partition of the audit topic by hand (no group join: fast)."""
    bootstrap = settings.require_kafka()
    name = topic_name(settings.topic_prefix, Topic.AUDIT)
    ensure_topics(bootstrap, [name], partitions=settings.topic_partitions, prefix=settings.topic_prefix)
    consumer = build_consumer(bootstrap, group_id=None, client_id="test-consumer")
    consumer.assign([TopicPartition(name, p) for p in range(settings.topic_partitions)])
    inbox = Inbox(name="tests", unit_of_work=unit_of_work(engine, settings), handlers=handlers)
    return ConsumerLoop(consumer, inbox)


def group_loop(
    engine: Engine, settings: Settings, *, group: str, handlers: Mapping[str, Handler] = EFFECT_HANDLERS
) -> ConsumerLoop:
    bootstrap = settings.require_kafka()
    name = topic_name(settings.topic_prefix, Topic.AUDIT)
    ensure_topics(bootstrap, [name], partitions=settings.topic_partitions, prefix=settings.topic_prefix)
    consumer = build_consumer(bootstrap, group_id=group, client_id="test-group-consumer")
    inbox = Inbox(name=group, unit_of_work=unit_of_work(engine, settings), handlers=handlers)
    return ConsumerLoop(consumer, inbox, topics=[name])


def effects(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT note FROM testing.effect")).scalars())


def count(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


def raw_records(settings: Settings, *, timeout: float = 5.0, expected: int) -> list[bytes]:
    """Read the audit topic from the beginning with a plain consumer until `expected` records (or timeout)."""
    name = topic_name(settings.topic_prefix, Topic.AUDIT)
    consumer = KafkaConsumer(
        bootstrap_servers=settings.require_kafka(), group_id=None, enable_auto_commit=False
    )
    try:
        consumer.assign([TopicPartition(name, p) for p in range(settings.topic_partitions)])
        consumer.seek_to_beginning()
        values: list[bytes] = []
        deadline = time.monotonic() + timeout
        while len(values) < expected and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=200).values():
                values.extend(bytes(r.value) for r in records)
        return values
    finally:
        consumer.close()
