"""Settings from the environment (pydantic-settings), built once per process at its entry point."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything a filet process reads from its environment. Unset external URLs mean "embedded default"."""

    model_config = SettingsConfigDict(env_prefix="FILET_", extra="ignore", frozen=True, populate_by_name=True)

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "FILET_DATABASE_URL")
    )
    kafka_bootstrap_servers: str | None = Field(
        default=None,
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "FILET_KAFKA_BOOTSTRAP_SERVERS"),
    )
    #: Prefix of every topic name, so several filet installations (or test runs) can share one broker.
    topic_prefix: str = "filet"
    topic_partitions: int = Field(default=4, ge=1)
    #: Where the embedded default keeps its data (PostgreSQL data directory, dev tokens, reports).
    data_dir: Path = Path(".filet")
    log_level: str = "INFO"
    #: Relay: rows per publish batch, and how long published outbox rows are kept (to re-publish after a
    #: broker that lost its log).
    relay_batch_size: int = Field(default=2000, ge=1)
    outbox_retention_hours: int = Field(default=168, ge=1)
    #: Consumer: records per poll.
    consumer_max_records: int = Field(default=500, ge=1)
    #: Reconciliation's consumer: `cycle.reconciled` for a cycle its events changed, at most this often and at
    #: most this long after the change (each one carries the cycle's whole summary).
    reconciled_every_seconds: float = Field(default=10.0, ge=0)
    #: Largest request body accepted by the HTTP edge, in bytes (imports and statements stream up to this).
    max_body_bytes: int = Field(default=1_073_741_824, ge=1024)
    simulator_url: str = "http://127.0.0.1:8009"

    def require_database_url(self) -> str:
        if not self.database_url:
            raise RuntimeError(
                "DATABASE_URL is not set: start the embedded default with `filet up`, or set it"
            )
        return self.database_url

    def require_kafka(self) -> str:
        if not self.kafka_bootstrap_servers:
            raise RuntimeError(
                "KAFKA_BOOTSTRAP_SERVERS is not set: start the embedded default with `filet up`, or set it"
            )
        return self.kafka_bootstrap_servers
