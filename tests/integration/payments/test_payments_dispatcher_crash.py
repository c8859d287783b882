"""A dispatcher killed with SIGKILL mid-release and restarted: no reference is paid twice, nothing is lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, text

Flow = Any
Seed = Any
ROOT = Path(__file__).resolve().parents[3]


def _start(database_url: str, simulator_url: str, payments_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        FILET_SIMULATOR_URL=simulator_url,
        FILET_PAYMENTS_CALLBACK_URL=payments_url,
        FILET_PAYMENTS_CHUNK_SIZE="20",
        FILET_PAYMENTS_CONCURRENCY="4",
        FILET_PAYMENTS_STALE_AFTER_SECONDS="2",
        FILET_PAYMENTS_PROVIDER_TIMEOUT_SECONDS="3",
        PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "services" / "payments" / "src")]),
    )
    return subprocess.Popen(
        [sys.executable, "-m", "payments.dispatcher"],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


def _states(db: Engine) -> dict[str, int]:
    with db.connect() as conn:
        return {
            str(s): int(n)
            for s, n in conn.execute(text('SELECT state, count(*) FROM "payments".payment GROUP BY state'))
        }


def _wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_a_dispatcher_killed_mid_release_and_restarted_pays_each_reference_at_most_once(
    flow: Flow,
    seed: Seed,
    sim: httpx.Client,
    db: Engine,
    database_url: str,
    payments_server: str,
    tmp_path: Path,
) -> None:
    sim.patch("/_admin/behaviour", json={"mtn": {"latency": {"fixed_ms": 15}}})
    flow.scheme()
    seed(count=200, operator="moov")
    flow.released()
    simulator_url = str(sim.base_url).rstrip("/")

    first = _start(database_url, simulator_url, payments_server, tmp_path / "first.log")
    try:
        _wait(
            lambda: sum(_states(db).get(s, 0) for s in ("SUBMITTED", "PENDING", "SUCCEEDED")) >= 20,
            60,
            "some sent",
        )
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    assert _states(db).get("APPROVED", 0) > 0, "killed too late to prove anything"

    second = _start(database_url, simulator_url, payments_server, tmp_path / "second.log")
    try:
        _wait(
            lambda: set(_states(db)) <= {"SUCCEEDED", "UNKNOWN"} and _states(db).get("SUCCEEDED", 0) > 0,
            90,
            "settled",
        )
        _wait(lambda: set(_states(db)) == {"SUCCEEDED"}, 60, "in doubt settled by queries")
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)

    ledger = sim.get("/_admin/ledger", params={"dialect": "mtn"}).json()
    assert ledger["count"] == 200
    assert max(view["times_paid"] for view in ledger["references"].values()) == 1
    assert len(ledger["references"]) == 200
