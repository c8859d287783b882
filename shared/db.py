"""Database plumbing: engines built at the entry point, one schema per service, Alembic upgrades."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url


def sqlalchemy_url(url: str) -> str:
    """Accept `postgresql://…` (as libpq tools write it) and use the psycopg 3 driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def build_engine(url: str, *, pool_size: int = 10, application_name: str = "filet") -> Engine:
    """One engine per process, built by its entry point."""
    return create_engine(
        sqlalchemy_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args={"application_name": application_name},
    )


def upgrade(engine: Engine, *, schema: str, migrations: Path) -> None:
    """Bring one service's schema to the newest revision; its version table lives in its own schema."""
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        # Serialise concurrent upgrades of the same schema (replicas starting together).
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:s))"), {"s": f"migrate:{schema}"})
        config = Config()
        config.set_main_option("script_location", str(migrations))
        config.attributes["connection"] = conn
        config.attributes["schema"] = schema
        command.upgrade(config, "head")
