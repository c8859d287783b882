"""Session-wide real infrastructure: PostgreSQL and the Kafka-protocol broker, embedded unless given by URL."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, text

from filet.embedded import EmbeddedBroker, EmbeddedPostgres, free_port
from filet.processes import Supervisor
from filet.stack import migrate_all
from shared.db import build_engine
from shared.settings import Settings

SCHEMAS = ("identity", "enrolment", "payments", "reconciliation")


@pytest.fixture(scope="session")
def supervisor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Supervisor]:
    supervisor = Supervisor(tmp_path_factory.mktemp("logs"))
    yield supervisor
    supervisor.stop_all()


@pytest.fixture(scope="session")
def server_url(supervisor: Supervisor) -> Iterator[str]:
    """A PostgreSQL server: DATABASE_URL's, or an embedded throwaway cluster (removed afterwards)."""
    if url := os.environ.get("DATABASE_URL"):
        yield url
        return
    data_dir = Path(tempfile.mkdtemp(prefix="filet-test-pg-"))
    postgres = EmbeddedPostgres(data_dir, free_port(), supervisor, fast_and_unsafe=True)
    try:
        yield postgres.start()
    finally:
        postgres.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def database_url(server_url: str) -> str:
    """A fresh database for this test session, migrated to head."""
    name = f"filet_test_{uuid.uuid4().hex[:8]}"
    admin_url = server_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = server_url.rsplit("/", 1)[0] + f"/{name}"
    engine = build_engine(url, pool_size=1)
    migrate_all(engine)
    with engine.begin() as conn:
        conn.execute(text("CREATE SCHEMA testing"))
        conn.execute(text("CREATE TABLE testing.effect (event_id uuid NOT NULL, note text)"))
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def bootstrap(supervisor: Supervisor) -> str:
    """A Kafka-protocol broker: KAFKA_BOOTSTRAP_SERVERS's, or an embedded tansu."""
    if servers := os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        return servers
    return EmbeddedBroker(free_port(), supervisor).start()


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = build_engine(database_url, pool_size=10)
    yield engine
    engine.dispose()


def _truncate_all(engine: Engine) -> None:
    with engine.begin() as conn:
        tables = conn.execute(
            text(
                "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables "
                "WHERE schemaname = ANY(:schemas) AND tablename <> 'alembic_version'"
            ),
            {"schemas": [*SCHEMAS, "testing"]},
        ).scalars()
        names = ", ".join(tables)
        if names:
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture
def db(engine: Engine) -> Engine:
    """The session database, emptied before the test."""
    _truncate_all(engine)
    return engine


@pytest.fixture
def settings(database_url: str, bootstrap: str) -> Settings:
    """Settings for one test, with its own topic prefix so tests never read each other's events."""
    return Settings(
        database_url=database_url,
        kafka_bootstrap_servers=bootstrap,
        topic_prefix=f"t{uuid.uuid4().hex[:10]}",
        topic_partitions=4,
    )
