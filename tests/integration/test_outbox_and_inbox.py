"""Outbox → relay → broker → inbox, on real PostgreSQL and the real broker."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence

import orjson
import pytest
from bus import (
    EFFECT_HANDLERS,
    SCHEMA,
    audit_event,
    count,
    drain,
    effects,
    group_loop,
    manual_loop,
    publish,
    raw_records,
    record_effect,
    relay,
    unit_of_work,
    wait_until,
)
from sqlalchemy import Engine, text

from shared.bulk import append_rows
from shared.consumer import Delivery, Inbox
from shared.events import Envelope, encode, new_envelope
from shared.events.contracts import AuditRecorded
from shared.relay import OutboxRow
from shared.settings import Settings
from shared.unit_of_work import UnitOfWork


def test_a_rolled_back_transaction_publishes_nothing(db: Engine, settings: Settings) -> None:
    with unit_of_work(db, settings)() as uow:
        uow.publish(audit_event("rolled-back"), subject="rolled-back")
        uow.flush()
        uow.rollback()
    publish(db, settings, ["committed"])

    assert drain(relay(db, settings)) == 1
    records = raw_records(settings, expected=2, timeout=3)
    assert [orjson.loads(r)["subject"] for r in records] == ["committed"]


def test_a_relay_killed_between_send_and_mark_still_has_its_events_applied_exactly_once(
    db: Engine, settings: Settings
) -> None:
    subjects = [f"h{n}" for n in range(300)]
    publish(db, settings, subjects)

    class Killed(Exception):
        pass

    def crash(rows: Sequence[OutboxRow]) -> None:
        raise Killed  # the broker has acked these rows; the process dies before marking them

    with pytest.raises(Killed):
        relay(db, settings, after_send=crash).publish_batch()
    assert count(db, f"SELECT count(*) FROM {SCHEMA}.outbox WHERE published_at IS NULL") == 300

    assert drain(relay(db, settings)) == 300  # a fresh relay sends them all again
    loop = manual_loop(db, settings)
    delivered = 0
    while len(effects(db)) < 300:
        delivered += loop.poll_once(timeout_ms=500)
    loop.close()

    assert sorted(effects(db)) == sorted(subjects)
    assert delivered == 600  # every event reached the consumer twice, and was applied once


def test_the_same_event_delivered_twice_has_one_effect(db: Engine, settings: Settings) -> None:
    inbox = Inbox(name="tests", unit_of_work=unit_of_work(db, settings), handlers=EFFECT_HANDLERS)
    from bus import audit_event

    envelope = new_envelope(source="/filet/tests", data=audit_event("once"), subject="once")
    delivery = Delivery("t", 0, 7, "once", encode(envelope))

    inbox.apply([delivery])
    inbox.apply([delivery, delivery])

    assert effects(db) == ["once"]


def test_a_poison_event_is_parked_with_its_reason_while_the_rest_flow_and_can_be_replayed(
    db: Engine, settings: Settings
) -> None:
    publish(db, settings, ["before"])
    publish(db, settings, ["bad"], action="poison")
    publish(db, settings, ["after"])
    drain(relay(db, settings))
    loop = manual_loop(db, settings)
    wait_until(
        lambda: loop.poll_once() >= 0 and sorted(effects(db)) == ["after", "before"], what="good events"
    )
    loop.close()

    assert count(db, f"SELECT count(*) FROM {SCHEMA}.dead_letter") == 1
    with db.connect() as conn:
        reason = conn.execute(text(f"SELECT reason FROM {SCHEMA}.dead_letter")).scalar_one()
    assert "can never succeed" in reason

    # Once the cause is fixed (here: the rule no longer refuses), the parked event is replayed, once.
    def fixed(uow: UnitOfWork, event: Envelope) -> None:
        assert isinstance(event.data, AuditRecorded)
        record_effect(uow, event.model_copy(update={"data": event.data.model_copy(update={"action": "ok"})}))

    inbox = Inbox(name="tests", unit_of_work=unit_of_work(db, settings), handlers={"audit.recorded": fixed})
    assert [outcome for _, outcome in inbox.replay()] == ["applied"]
    assert inbox.replay() == []
    assert sorted(effects(db)) == ["after", "bad", "before"]


def test_undecodable_bytes_are_parked_and_do_not_stop_the_stream(db: Engine, settings: Settings) -> None:
    inbox = Inbox(name="tests", unit_of_work=unit_of_work(db, settings), handlers=EFFECT_HANDLERS)
    from bus import audit_event

    good = new_envelope(source="/filet/tests", data=audit_event("good"), subject="good")
    inbox.apply([Delivery("t", 0, 1, None, b"{not json"), Delivery("t", 0, 2, "good", encode(good))])

    assert effects(db) == ["good"]
    assert count(db, f"SELECT count(*) FROM {SCHEMA}.dead_letter WHERE reason LIKE 'undecodable%'") == 1


def test_two_consumers_of_one_group_split_the_partitions(db: Engine, settings: Settings) -> None:
    group = f"{settings.topic_prefix}.split"
    loops = [group_loop(db, settings, group=group) for _ in range(2)]
    stop = threading.Event()
    threads = [threading.Thread(target=loop.run, args=(stop,), daemon=True) for loop in loops]
    for thread in threads:
        thread.start()
    try:
        wait_until(
            lambda: (
                all(loop.consumer.assignment() for loop in loops)
                and sum(len(loop.consumer.assignment()) for loop in loops) == settings.topic_partitions
            ),
            timeout=60,
            what="both consumers to own partitions",
        )
        owned = [set(loop.consumer.assignment()) for loop in loops]
        assert not owned[0] & owned[1]

        publish(db, settings, [f"k{n}" for n in range(400)])
        drain(relay(db, settings))
        wait_until(lambda: len(effects(db)) == 400, what="all events applied")
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
        for loop in loops:
            loop.close()
    assert len(set(effects(db))) == 400


def test_rows_appended_by_binary_copy_read_back_byte_for_byte(db: Engine, settings: Settings) -> None:
    payloads = [bytes(range(256)) * 2000, b"", "é\\\t\n\x00".encode()]  # every byte value, empty, escapes
    rows = [
        {"event_id": uuid.uuid4(), "topic": "t", "key": f"clé {n}", "type": "x", "payload": payload}
        for n, payload in enumerate(payloads)
    ]
    with unit_of_work(db, settings)() as uow:
        append_rows(uow.connection, uow.tables.outbox, rows)
        uow.commit()

    with db.connect() as conn:
        stored = conn.execute(text(f"SELECT event_id, key, payload FROM {SCHEMA}.outbox ORDER BY id")).all()
    assert [(row.event_id, row.key, bytes(row.payload)) for row in stored] == [
        (row["event_id"], row["key"], row["payload"]) for row in rows
    ]


def test_the_loops_tick_runs_between_polls_and_outlives_an_infrastructure_error(
    db: Engine, settings: Settings
) -> None:
    loop = manual_loop(db, settings)
    stop = threading.Event()
    ticks: list[int] = []

    def tick() -> None:
        ticks.append(len(ticks))
        if len(ticks) == 1:
            raise ConnectionError("the database is restarting")
        if len(ticks) == 3:
            stop.set()

    runner = threading.Thread(target=loop.run, args=(stop,), kwargs={"tick": tick, "every": 0.05})
    runner.start()
    runner.join(timeout=30)
    stop.set()
    loop.close()

    assert not runner.is_alive()
    assert ticks == [0, 1, 2]


def test_an_error_of_the_tick_that_is_no_infrastructure_error_stops_the_loop(
    db: Engine, settings: Settings
) -> None:
    loop = manual_loop(db, settings)

    def tick() -> None:
        raise ValueError("a bug")

    try:
        with pytest.raises(ValueError, match="a bug"):
            loop.run(threading.Event(), tick=tick, every=0.01)
    finally:
        loop.close()
