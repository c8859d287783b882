"""Crashes and restarts: a consumer killed mid-stream, a broker that lost its log."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from bus import drain, effects, manual_loop, publish, relay, wait_until
from sqlalchemy import Engine

from filet.embedded import EmbeddedBroker, free_port
from filet.processes import Supervisor
from shared.settings import Settings

HERE = Path(__file__).parent


def _start_consumer(settings: Settings, group: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            str(HERE / "effect_consumer_process.py"),
            settings.require_database_url(),
            settings.require_kafka(),
            settings.topic_prefix,
            group,
        ],
        env={**os.environ, "PYTHONPATH": str(HERE)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_a_consumer_killed_mid_stream_resumes_with_nothing_lost_or_doubled(
    db: Engine, settings: Settings
) -> None:
    total = 3000
    subjects = [f"e{n}" for n in range(total)]
    for start in range(0, total, 500):
        publish(db, settings, subjects[start : start + 500])
    drain(relay(db, settings))
    group = f"{settings.topic_prefix}.killed"

    first = _start_consumer(settings, group)
    try:
        wait_until(lambda: len(effects(db)) >= 400, timeout=60, what="the first consumer to be mid-stream")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    applied_before_kill = len(effects(db))
    assert applied_before_kill < total

    second = _start_consumer(settings, group)
    try:
        wait_until(lambda: len(effects(db)) >= total, timeout=120, what="the restarted consumer to finish")
    finally:
        second.terminate()
        second.wait(10)

    applied = effects(db)
    assert len(applied) == total
    assert sorted(applied) == sorted(subjects)


def test_a_broker_restart_has_the_relay_publish_again_what_consumers_had_not_applied(
    db: Engine, settings: Settings, supervisor: Supervisor
) -> None:
    broker = EmbeddedBroker(free_port(), supervisor)
    settings = settings.model_copy(update={"kafka_bootstrap_servers": broker.start()})
    the_relay = relay(db, settings, epoch_check_seconds=0.5)
    consumer = manual_loop(db, settings)

    publish(db, settings, [f"a{n}" for n in range(100)])
    drain(the_relay)
    wait_until(lambda: consumer.poll_once() >= 0 and len(effects(db)) == 100, what="the first half applied")

    publish(db, settings, [f"b{n}" for n in range(100)])
    drain(the_relay)  # acked by the broker, not yet consumed …
    broker.restart()  # … and gone with its in-memory log

    stop = threading.Event()
    relay_thread = threading.Thread(target=the_relay.run, args=(stop,), daemon=True)
    consumer_thread = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
    relay_thread.start()
    consumer_thread.start()
    try:
        wait_until(
            lambda: len(effects(db)) >= 200, timeout=90, what="the lost half to be re-published and applied"
        )
    finally:
        stop.set()
        relay_thread.join(10)
        consumer_thread.join(10)
        consumer.close()
        broker.stop()

    applied = effects(db)
    assert len(applied) == 200
    assert len(set(applied)) == 200
