"""The whole system on one machine: embedded components (unless URLs are given), migrations, processes."""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import Engine

from filet.embedded import EmbeddedBroker, EmbeddedError, EmbeddedPostgres, port_open
from filet.processes import Supervisor, tail
from shared.auth import IDENTITY_MIGRATIONS, IDENTITY_SCHEMA, TokenStore
from shared.db import build_engine, upgrade
from shared.events.catalogue import all_topic_names
from shared.kafka import ensure_topics
from shared.service import ServiceDefinition
from shared.settings import Settings

DEV_ROLES = {
    "operator": "operator",
    "operator-2": "operator",
    "approver": "approver",
    "auditor": "auditor",
    "admin": "admin",
    "simulator": "provider:simulator",
    "vendor-dev": "vendor:dev",
}


def service_definitions() -> list[ServiceDefinition]:
    from enrolment.service import ENROLMENT
    from payments.service import PAYMENTS
    from reconciliation.service import RECONCILIATION

    return [ENROLMENT, PAYMENTS, RECONCILIATION]


def migrate_all(engine: Engine) -> None:
    upgrade(engine, schema=IDENTITY_SCHEMA, migrations=IDENTITY_MIGRATIONS)
    for definition in service_definitions():
        definition.migrate(engine)


@dataclass(frozen=True)
class Process:
    name: str
    module: str
    port: int | None = None
    health_path: str = "/healthz"
    arguments: tuple[str, ...] = ()


def processes(ports: dict[str, int], *, dispatchers: int = 1) -> list[Process]:
    """Every long-running process of the system, with the port of those that serve HTTP.

    `dispatchers` payments dispatchers share the work (they claim with `SKIP LOCKED`): one is bound by its
    own interpreter lock to about one core, so a second one uses a second core when there is one.
    """
    return [
        Process(
            "simulator",
            "simulator",
            ports["simulator"],
            health_path="/gsma/heartbeat",
            arguments=("--wave-webhook-url", f"http://127.0.0.1:{ports['payments']}/v1/callbacks/wave"),
        ),
        Process("enrolment-api", "enrolment.api.app", ports["enrolment"]),
        Process("enrolment-relay", "enrolment.relay"),
        Process("enrolment-consumer", "enrolment.consumer"),
        Process("payments-api", "payments.api.app", ports["payments"]),
        Process("payments-relay", "payments.relay"),
        Process("payments-consumer", "payments.consumer"),
        *(
            Process("payments-dispatcher" + (f"-{n}" if n > 1 else ""), "payments.dispatcher")
            for n in range(1, dispatchers + 1)
        ),
        Process("reconciliation-api", "reconciliation.api.app", ports["reconciliation"]),
        Process("reconciliation-relay", "reconciliation.relay"),
        Process("reconciliation-consumer", "reconciliation.consumer"),
    ]


DEFAULT_PORTS = {"enrolment": 8001, "payments": 8002, "reconciliation": 8003, "simulator": 8009}


@dataclass
class Stack:
    """`start()` brings everything up and returns; `stop()` stops every child it started."""

    settings: Settings
    data_dir: Path
    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    pg_port: int = 55432
    broker_port: int = 19092
    fast_and_unsafe: bool = False
    dispatchers: int = 1
    supervisor: Supervisor = field(init=False)
    postgres: EmbeddedPostgres | None = None
    broker: EmbeddedBroker | None = None
    database_url: str = ""
    bootstrap: str = ""
    tokens: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.data_dir = self.data_dir.resolve()
        self.supervisor = Supervisor(self.data_dir / "logs")

    def start_infrastructure(self) -> None:
        if self.settings.database_url:
            self.database_url = self.settings.database_url
        else:
            self.postgres = EmbeddedPostgres(
                self.data_dir / "pgdata", self.pg_port, self.supervisor, fast_and_unsafe=self.fast_and_unsafe
            )
            self.database_url = self.postgres.start()
        if self.settings.kafka_bootstrap_servers:
            self.bootstrap = self.settings.kafka_bootstrap_servers
        else:
            self.broker = EmbeddedBroker(self.broker_port, self.supervisor)
            self.bootstrap = self.broker.start()
        engine = build_engine(self.database_url, pool_size=2, application_name="filet-launcher")
        try:
            migrate_all(engine)
            self.tokens = self._dev_tokens(engine)
        finally:
            engine.dispose()
        ensure_topics(
            self.bootstrap,
            all_topic_names(self.settings.topic_prefix),
            partitions=self.settings.topic_partitions,
            prefix=self.settings.topic_prefix,
        )

    def child_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            DATABASE_URL=self.database_url,
            KAFKA_BOOTSTRAP_SERVERS=self.bootstrap,
            FILET_TOPIC_PREFIX=self.settings.topic_prefix,
            FILET_DATA_DIR=str(self.data_dir),
            FILET_SIMULATOR_URL=f"http://127.0.0.1:{self.ports['simulator']}",
            FILET_PAYMENTS_URL=f"http://127.0.0.1:{self.ports['payments']}",
            PYTHONUNBUFFERED="1",
        )
        return env

    def start_processes(self, timeout: float = 60.0) -> None:
        env = self.child_env()
        for process in processes(self.ports, dispatchers=self.dispatchers):
            if process.port is not None and port_open(process.port):
                raise EmbeddedError(f"port {process.port} for {process.name} is already in use")
            argv = [sys.executable, "-m", process.module]
            if process.port is not None:
                argv += ["--port", str(process.port)]
            argv += process.arguments
            self.supervisor.start(process.name, argv, env=env)
        self._wait_healthy(timeout)

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        pending = {
            p.name: f"http://127.0.0.1:{p.port}{p.health_path}" for p in processes(self.ports) if p.port
        }
        while pending and time.monotonic() < deadline:
            for child in self.supervisor.dead():
                raise EmbeddedError(
                    f"{child.name} exited; its log ({child.log_path}):\n{tail(child.log_path)}"
                )
            for name, url in list(pending.items()):
                try:
                    if httpx.get(url, timeout=1).status_code == 200:
                        del pending[name]
                except httpx.HTTPError:
                    pass
            time.sleep(0.1)
        if pending:
            raise EmbeddedError(f"not healthy within {timeout:.0f} s: {', '.join(pending)}")

    def start(self) -> None:
        try:
            self.start_infrastructure()
            self.start_processes()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        self.supervisor.stop_all()

    def _dev_tokens(self, engine: Engine) -> dict[str, str]:
        """One token per dev user, kept in `<data>/dev-tokens.json` (mode 600) and re-minted if unknown."""
        path = self.data_dir / "dev-tokens.json"
        store = TokenStore(engine, cache_seconds=0)
        known: dict[str, str] = {}
        if path.exists():
            known = json.loads(path.read_text())
        tokens: dict[str, str] = {}
        for name, role in DEV_ROLES.items():
            token = known.get(name)
            principal = store.lookup(token) if token else None
            if token is None or principal is None or principal.role != role:
                token = store.create(name=name, role=role)
            tokens[name] = token
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(tokens, indent=2))
        path.chmod(0o600)
        return tokens

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"
