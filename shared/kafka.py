"""Kafka plumbing (kafka-python): producers, consumers, topic creation, and the broker epoch.

The embedded broker keeps its log in memory, so a restart empties it. The *broker epoch* detects that: the
first record of the one-partition `<prefix>._epoch` topic names the broker's current life. A relay that sees
a new epoch re-publishes its retained outbox; consumers' inboxes make the repeats harmless. On Apache Kafka
the epoch never changes.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Iterable

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

log = logging.getLogger(__name__)


def epoch_topic(prefix: str) -> str:
    return f"{prefix}._epoch"


def build_producer(bootstrap: str, *, client_id: str) -> KafkaProducer:
    """An idempotent, acks=all producer tuned for batches (ordering per key is kept by idempotence)."""
    return KafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        acks="all",
        linger_ms=5,
        batch_size=256 * 1024,
        max_request_size=16 * 1024 * 1024,
        request_timeout_ms=15_000,
        delivery_timeout_ms=30_000,
        retry_backoff_ms=200,
        reconnect_backoff_max_ms=2_000,
    )


def build_consumer(
    bootstrap: str, *, group_id: str | None, client_id: str, max_records: int = 500
) -> KafkaConsumer:
    """A consumer whose offsets are committed by hand, after the database commit."""
    return KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group_id,
        client_id=client_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=max_records,
        fetch_max_bytes=32 * 1024 * 1024,
        max_partition_fetch_bytes=16 * 1024 * 1024,
        session_timeout_ms=10_000,
        heartbeat_interval_ms=1_000,
        metadata_max_age_ms=5_000,
        reconnect_backoff_max_ms=2_000,
    )


def ensure_topics(bootstrap: str, names: Iterable[str], *, partitions: int, prefix: str) -> None:
    """Create the topics with the partition count we want (never rely on auto-creation's default)."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="filet-admin", request_timeout_ms=15_000)
    try:
        existing = set(admin.list_topics())
        wanted = [NewTopic(name, partitions, 1) for name in names if name not in existing]
        if epoch_topic(prefix) not in existing:
            wanted.append(NewTopic(epoch_topic(prefix), 1, 1))
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(wanted)
    finally:
        admin.close()


def current_epoch(bootstrap: str, prefix: str) -> str:
    """The broker's epoch: the first record of the epoch topic, written by whoever comes first."""
    first = _first_epoch_record(bootstrap, prefix)
    if first is not None:
        return first
    producer = KafkaProducer(bootstrap_servers=bootstrap, client_id="filet-epoch", acks="all")
    try:
        producer.send(epoch_topic(prefix), value=uuid.uuid4().hex.encode()).get(timeout=15)
    finally:
        producer.close(timeout=5)
    first = _first_epoch_record(bootstrap, prefix)
    if first is None:
        raise RuntimeError("the broker accepted the epoch record but does not return it")
    return first


def _first_epoch_record(bootstrap: str, prefix: str) -> str | None:
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        client_id="filet-epoch-reader",
        group_id=None,
        enable_auto_commit=False,
        consumer_timeout_ms=1_500,
    )
    try:
        partition = TopicPartition(epoch_topic(prefix), 0)
        consumer.assign([partition])
        consumer.seek_to_beginning(partition)
        batch = consumer.poll(timeout_ms=1_500, max_records=1)
        for records in batch.values():
            for record in records:
                return bytes(record.value).decode()
        return None
    finally:
        consumer.close()
