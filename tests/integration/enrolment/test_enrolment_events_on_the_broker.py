"""Enrolment's facts reach the real broker through its relay, readable by a plain kafka-python consumer."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from kafka import KafkaConsumer, TopicPartition
from sqlalchemy import Engine

from enrolment.service import ENROLMENT
from shared.events import Topic, decode, topic_name
from shared.events.catalogue import spec_for
from shared.events.contracts import EnrolmentsActivated, HouseholdsRegistered
from shared.service import build_relay
from shared.settings import Settings

CsvFile = Callable[[list[dict[str, str]]], bytes]
Headers = Callable[[str], dict[str, str]]
Import = Callable[..., dict[str, Any]]
Record = Callable[..., dict[str, str]]


def read_all(settings: Settings, topic: Topic, *, expected: int, timeout: float = 20.0) -> list[bytes]:
    name = topic_name(settings.topic_prefix, topic)
    consumer = KafkaConsumer(
        bootstrap_servers=settings.require_kafka(), group_id=None, enable_auto_commit=False
    )
    try:
        consumer.assign([TopicPartition(name, p) for p in range(settings.topic_partitions)])
        consumer.seek_to_beginning()
        values: list[bytes] = []
        deadline = time.monotonic() + timeout
        while len(values) < expected and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=200).values():
                values.extend(bytes(r.value) for r in records)
        return values
    finally:
        consumer.close()


def test_imported_households_and_activated_enrolments_are_on_the_broker_as_their_contracts(
    client: TestClient,
    as_role: Headers,
    run_import: Import,
    record: Record,
    csv_file: CsvFile,
    db: Engine,
    settings: Settings,
) -> None:
    job = run_import(csv_file([record(n) for n in range(1, 1501)]))
    client.post(
        "/v1/programmes",
        json={
            "code": "JS",
            "name": "JS",
            "zone": [{"region": "Kayes"}],
            "duration_months": 36,
            "targeting_method": "pmt",
        },
        headers=as_role("operator"),
    )
    ids = client.post(
        "/v1/enrolments", json={"programme": "JS", "filter": {"region": "Kayes"}}, headers=as_role("operator")
    ).json()["enrolment_ids"]
    validation = {"who": "comité", "when": datetime.now(UTC).isoformat(), "where": "Kita"}
    for action, extra in (("target", {}), ("validate", {"validation": validation}), ("activate", {})):
        client.post(
            "/v1/enrolments/transitions",
            json={"action": action, "enrolment_ids": ids, **extra},
            headers=as_role("operator"),
        )

    relay = build_relay(ENROLMENT, settings, db)
    relay.check_epoch()
    while relay.publish_batch():
        pass
    relay.reset_producer()

    households = [decode(raw) for raw in read_all(settings, Topic.HOUSEHOLDS, expected=2)]
    enrolments = [decode(raw) for raw in read_all(settings, Topic.ENROLMENTS, expected=2 * 4)]

    registered = [e.data for e in households if e.type == "households.registered"]
    assert all(isinstance(data, HouseholdsRegistered) for data in registered)
    assert sorted(len(data.items) for data in registered if isinstance(data, HouseholdsRegistered)) == [
        500,
        1000,
    ]
    assert {str(e.subject) for e in households} == {job["id"]}
    activated = [e for e in enrolments if e.type == "enrolments.activated"]
    assert sum(len(e.data.items) for e in activated if isinstance(e.data, EnrolmentsActivated)) == 1500
    assert all(isinstance(e.data, EnrolmentsActivated) and e.key == "JS" for e in activated)
    for envelope in households + enrolments:
        spec = spec_for(envelope.type)
        assert spec is not None
        spec.model.model_validate(envelope.data.model_dump(mode="json"))
