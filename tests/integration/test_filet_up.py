"""`filet up` starts the embedded default and every process, and SIGTERM stops them all cleanly."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil
from bus import wait_until

from filet.embedded import free_port, port_open


def test_filet_up_serves_every_service_and_stops_every_child_on_sigterm() -> None:
    # Not pytest's tmp_path: its root is kept at mode 700, which the PostgreSQL system user cannot traverse.
    tmp_path = Path(tempfile.mkdtemp(prefix="filet-up-test-"))
    pg_port, broker_port = free_port(), free_port()
    # Below the kernel's range for outgoing connections (from 32768 here), whose ports any connection may take
    # as its local end: a base of 30000-49990 failed once with "address already in use" on 35242.
    base = 20000 + os.getpid() % 10000 // 10 * 10
    ports = [base + 1, base + 2, base + 3, base + 9]
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")}
    env["FILET_DATA_DIR"] = str(tmp_path / "data")
    launcher = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "filet.cli",
            "up",
            "--pg-port",
            str(pg_port),
            "--broker-port",
            str(broker_port),
            "--port-base",
            str(base),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    try:
        assert launcher.stdout is not None
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            line = launcher.stdout.readline()
            if not line:
                break
            output.append(line)
            if line.startswith("running;"):
                break
        text = "".join(output)
        assert "running;" in text, text
        for port in ports[:3]:
            assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
        assert httpx.get(f"http://127.0.0.1:{ports[3]}/gsma/heartbeat", timeout=5).status_code == 200
        for port in ports[:3]:
            assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).json()["ready"] is True
        assert "operator" in text
        assert "approver" in text
        assert str(tmp_path / "data") in text
        children = psutil.Process(launcher.pid).children(recursive=True)
        assert len(children) >= 10  # PostgreSQL, the broker, the simulator and every service process
    finally:
        launcher.send_signal(signal.SIGTERM)
        launcher.wait(60)

    assert launcher.returncode == 0
    wait_until(
        lambda: not any(child.is_running() and child.status() != psutil.STATUS_ZOMBIE for child in children),
        timeout=30,
        what="every child to exit",
    )
    for port in [pg_port, broker_port, *ports]:
        assert not port_open(port), f"port {port} is still bound"
    shutil.rmtree(tmp_path, ignore_errors=True)
