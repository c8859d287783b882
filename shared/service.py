"""What each service declares about itself, and the generic entry points of its relay and consumer."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from sqlalchemy import Engine

from shared.consumer import ConsumerLoop, Handler, Inbox, UnitOfWorkFactory
from shared.db import build_engine, upgrade
from shared.events.catalogue import Topic, topic_name
from shared.kafka import build_consumer, ensure_topics
from shared.relay import Relay
from shared.settings import Settings
from shared.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ServiceDefinition:
    """A service's name, schema, migrations and the event source it signs its events with."""

    name: str
    migrations: Path
    unit_of_work: Callable[[Engine, Settings], Callable[[], UnitOfWork]]

    @property
    def schema(self) -> str:
        return self.name

    @property
    def source(self) -> str:
        return f"/filet/{self.name}"

    def migrate(self, engine: Engine) -> None:
        upgrade(engine, schema=self.schema, migrations=self.migrations)


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT, so loops finish their batch and exit cleanly."""
    stop = threading.Event()

    def handle(signum: int, frame: FrameType | None) -> None:
        log.info("stopping", extra={"signal": signum})
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    return stop


def build_relay(definition: ServiceDefinition, settings: Settings, engine: Engine) -> Relay:
    return Relay(
        engine,
        schema=definition.schema,
        bootstrap=settings.require_kafka(),
        topic_prefix=settings.topic_prefix,
        partitions=settings.topic_partitions,
        batch_size=settings.relay_batch_size,
        retention_hours=settings.outbox_retention_hours,
    )


def run_relay(definition: ServiceDefinition, settings: Settings) -> None:
    engine = build_engine(
        settings.require_database_url(), pool_size=2, application_name=f"{definition.name}-relay"
    )
    relay = build_relay(definition, settings, engine)
    log.info("relay started", extra={"service": definition.name})
    relay.run(stop_on_signals())
    engine.dispose()


def build_consumer_loop(
    definition: ServiceDefinition,
    settings: Settings,
    engine: Engine,
    *,
    handlers: Mapping[str, Handler],
    topics: list[Topic],
    group: str | None = None,
) -> ConsumerLoop:
    bootstrap = settings.require_kafka()
    names = [topic_name(settings.topic_prefix, topic) for topic in topics]
    ensure_topics(bootstrap, names, partitions=settings.topic_partitions, prefix=settings.topic_prefix)
    group_id = group or f"{settings.topic_prefix}.{definition.name}"
    inbox = Inbox(name=group_id, unit_of_work=definition.unit_of_work(engine, settings), handlers=handlers)
    consumer = build_consumer(
        bootstrap,
        group_id=group_id,
        client_id=f"{definition.name}-consumer",
        max_records=settings.consumer_max_records,
    )
    return ConsumerLoop(consumer, inbox, topics=names)


def run_consumer(
    definition: ServiceDefinition,
    settings: Settings,
    *,
    handlers: Mapping[str, Handler],
    topics: list[Topic],
    tick: Callable[[UnitOfWorkFactory], object] | None = None,
) -> None:
    """`tick`, if given, runs about every second between polls with the consumer's unit-of-work factory."""
    engine = build_engine(
        settings.require_database_url(), pool_size=2, application_name=f"{definition.name}-consumer"
    )
    loop = build_consumer_loop(definition, settings, engine, handlers=handlers, topics=topics)
    log.info("consumer started", extra={"service": definition.name, "handles": sorted(handlers)})
    open_unit_of_work = loop.inbox.unit_of_work
    try:
        loop.run(stop_on_signals(), tick=None if tick is None else lambda: tick(open_unit_of_work))
    finally:
        loop.close()
        engine.dispose()
