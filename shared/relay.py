"""The relay: publishes a service's outbox to Kafka in id order, marking rows only after the broker acks.

One relay of a service publishes at a time (a transaction-scoped advisory lock); rows are claimed with
`FOR UPDATE SKIP LOCKED`. A crash between send and mark leaves the rows unmarked, so they are sent again:
consumers' inboxes absorb the repeat. A broker that lost its log (new epoch) gets the retained outbox again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError
from sqlalchemy import Engine, text

from shared.events.catalogue import all_topic_names
from shared.events.envelope import CONTENT_TYPE
from shared.kafka import build_producer, current_epoch, ensure_topics

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    topic: str
    key: str
    event_type: str
    payload: bytes


class Relay:
    """Moves outbox rows to the broker. `publish_batch` is one transaction; `run` loops until stopped."""

    def __init__(
        self,
        engine: Engine,
        *,
        schema: str,
        bootstrap: str,
        topic_prefix: str,
        partitions: int,
        batch_size: int = 2000,
        retention_hours: int = 168,
        epoch_check_seconds: float = 5.0,
        after_send: Callable[[Sequence[OutboxRow]], None] | None = None,
    ) -> None:
        self.engine = engine
        self.schema = schema
        self.bootstrap = bootstrap
        self.topic_prefix = topic_prefix
        self.partitions = partitions
        self.batch_size = batch_size
        self.retention_hours = retention_hours
        self.epoch_check_seconds = epoch_check_seconds
        #: Called after the broker acked a batch and before the rows are marked (a test seam for crashes).
        self.after_send = after_send
        self._producer: KafkaProducer | None = None
        self._last_epoch_check = 0.0

    # --- one step ---------------------------------------------------------------------------------------

    def publish_batch(self) -> int:
        """Publish up to `batch_size` unpublished rows; returns how many were published and marked."""
        with self.engine.begin() as conn:
            locked = conn.execute(
                text("SELECT pg_try_advisory_xact_lock(hashtext(:k))"), {"k": f"relay:{self.schema}"}
            ).scalar_one()
            if not locked:
                return 0
            rows = [
                OutboxRow(r.id, r.topic, r.key, r.type, bytes(r.payload))
                for r in conn.execute(
                    text(
                        f'SELECT id, topic, key, type, payload FROM "{self.schema}".outbox '
                        "WHERE published_at IS NULL ORDER BY id LIMIT :n FOR UPDATE SKIP LOCKED"
                    ),
                    {"n": self.batch_size},
                )
            ]
            if not rows:
                return 0
            acks = self._send(rows)
            if self.after_send is not None:
                self.after_send(rows)
            conn.execute(
                text(
                    f'UPDATE "{self.schema}".outbox AS o SET published_at = now(), '
                    'partition = a.part, "offset" = a.position '
                    "FROM unnest(CAST(:ids AS bigint[]), CAST(:partitions AS int[]), CAST(:offsets AS bigint[])) "
                    "AS a(id, part, position) WHERE o.id = a.id"
                ),
                {
                    "ids": [row.id for row in rows],
                    "partitions": [p for p, _ in acks],
                    "offsets": [o for _, o in acks],
                },
            )
            return len(rows)

    def _send(self, rows: Sequence[OutboxRow]) -> list[tuple[int, int]]:
        producer = self._ensure_producer()
        futures = [
            producer.send(
                row.topic,
                key=row.key.encode(),
                value=row.payload,
                headers=[("content-type", CONTENT_TYPE.encode()), ("ce_type", row.event_type.encode())],
            )
            for row in rows
        ]
        producer.flush(timeout=30)
        acks: list[tuple[int, int]] = []
        for future in futures:
            metadata: Any = future.get(timeout=30)
            acks.append((int(metadata.partition), int(metadata.offset)))
        return acks

    # --- producer and broker epoch ----------------------------------------------------------------------

    def _ensure_producer(self) -> KafkaProducer:
        if self._producer is None:
            self._producer = build_producer(self.bootstrap, client_id=f"relay-{self.schema}")
        return self._producer

    def reset_producer(self) -> None:
        """Drop the producer (after a broker restart the idempotent producer id is unknown to it)."""
        if self._producer is not None:
            try:
                self._producer.close(timeout=2)
            except Exception:
                log.debug("closing the old producer failed", exc_info=True)
        self._producer = None

    def check_epoch(self) -> bool:
        """Compare the broker's epoch with the one we published into; on a new one, re-queue the outbox.

        Returns True when the retained outbox was re-queued.
        """
        self._last_epoch_check = time.monotonic()
        ensure_topics(
            self.bootstrap,
            all_topic_names(self.topic_prefix),
            partitions=self.partitions,
            prefix=self.topic_prefix,
        )
        epoch = current_epoch(self.bootstrap, self.topic_prefix)
        with self.engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"relay:{self.schema}"})
            known = conn.execute(
                text(f"SELECT broker_epoch FROM \"{self.schema}\".relay_state WHERE name = 'relay'")
            ).scalar_one_or_none()
            if known == epoch:
                return False
            conn.execute(
                text(
                    f"INSERT INTO \"{self.schema}\".relay_state (name, broker_epoch) VALUES ('relay', :e) "
                    "ON CONFLICT (name) DO UPDATE SET broker_epoch = EXCLUDED.broker_epoch"
                ),
                {"e": epoch},
            )
            requeued = conn.execute(
                text(
                    f'UPDATE "{self.schema}".outbox SET published_at = NULL, partition = NULL, "offset" = NULL '
                    "WHERE published_at IS NOT NULL"
                )
            ).rowcount
        if requeued:
            log.warning(
                "broker has a new epoch: re-publishing the retained outbox",
                extra={"schema": self.schema, "rows": requeued, "epoch": epoch},
            )
        return requeued > 0

    def prune(self) -> int:
        """Forget published rows older than the retention period."""
        with self.engine.begin() as conn:
            return conn.execute(
                text(
                    f'DELETE FROM "{self.schema}".outbox WHERE published_at < now() - make_interval(hours => :h)'
                ),
                {"h": self.retention_hours},
            ).rowcount

    # --- the loop ---------------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Publish until `stop` is set. Broker trouble: re-create the producer, re-check the epoch, back off."""
        backoff = 0.05
        idle = 0.005
        last_prune = 0.0
        epoch_known = False
        while not stop.is_set():
            try:
                if not epoch_known or time.monotonic() - self._last_epoch_check > self.epoch_check_seconds:
                    self.check_epoch()
                    epoch_known = True
                published = self.publish_batch()
                backoff = 0.05
                if time.monotonic() - last_prune > 3600:
                    self.prune()
                    last_prune = time.monotonic()
                if published:
                    idle = 0.005
                else:
                    stop.wait(idle)
                    idle = min(idle * 2, 0.25)
            except (KafkaError, OSError) as error:
                log.warning("broker unavailable, retrying", extra={"error": repr(error), "in": backoff})
                self.reset_producer()
                epoch_known = False
                stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
            except Exception as error:
                log.warning("relay step failed, retrying", extra={"error": repr(error), "in": backoff})
                stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
        self.reset_producer()
