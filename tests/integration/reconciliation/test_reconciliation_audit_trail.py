"""The audit trail: every service's `audit.recorded` chained by the consumer, and tampering found and located."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from bus import drain, publish, relay, wait_until
from click.testing import CliRunner
from fastapi.testclient import TestClient
from kafka import TopicPartition
from pydantic import BaseModel
from sqlalchemy import Engine, text

from filet.reconciliation_commands import audit, statements
from reconciliation.consumer import HANDLERS
from reconciliation.domain.audit import AuditEntry, chain_entry
from reconciliation.service import RECONCILIATION
from shared.consumer import ConsumerLoop, Inbox
from shared.events import Envelope, Topic, topic_name
from shared.events.contracts import AuditRecorded
from shared.kafka import build_consumer, ensure_topics
from shared.settings import Settings


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def record(deliver: Callable[[BaseModel], Envelope], count: int) -> None:
    for number in range(1, count + 1):
        deliver(
            AuditRecorded(
                occurred_at=datetime(2026, 1, 5, 9, number, tzinfo=UTC),
                service="payments",
                actor="awa.operator",
                role="operator",
                action="cycle.submit",
                subject=f"cycle/{number}",
                before={"state": "draft"},
                after={"state": "submitted", "amount": 30_000 * number},
            )
        )


def verification(client: TestClient, token: str) -> dict[str, object]:
    answer = client.get("/v1/audit/verification", headers=bearer(token))
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_actions_published_by_another_service_reach_the_chain_through_the_broker(
    db: Engine, settings: Settings, client: TestClient, tokens: dict[str, str]
) -> None:
    publish(db, settings, ["household/1", "household/2", "household/3"])
    drain(relay(db, settings))
    name = topic_name(settings.topic_prefix, Topic.AUDIT)
    bootstrap = settings.require_kafka()
    ensure_topics(bootstrap, [name], partitions=settings.topic_partitions, prefix=settings.topic_prefix)
    consumer = build_consumer(bootstrap, group_id=None, client_id="reconciliation-test")
    consumer.assign([TopicPartition(name, partition) for partition in range(settings.topic_partitions)])
    consumer.seek_to_beginning()
    loop = ConsumerLoop(
        consumer,
        Inbox(
            name="reconciliation", unit_of_work=RECONCILIATION.unit_of_work(db, settings), handlers=HANDLERS
        ),
    )
    try:
        chained: list[object] = []

        def three_chained() -> bool:
            loop.poll_once()
            chained[:] = client.get("/v1/audit", headers=bearer(tokens["auditor"])).json()["items"]
            return len(chained) == 3

        wait_until(three_chained, timeout=30, what="three audit entries chained")
    finally:
        loop.close()
    assert verification(client, tokens["auditor"])["intact"] is True


def test_the_audit_trail_is_paginated_in_seq_order(
    deliver: Callable[[BaseModel], Envelope], client: TestClient, tokens: dict[str, str]
) -> None:
    record(deliver, 5)

    first = client.get("/v1/audit", params={"limit": 2}, headers=bearer(tokens["auditor"])).json()
    rest = client.get(
        "/v1/audit", params={"after": first["next_after"], "limit": 10}, headers=bearer(tokens["auditor"])
    ).json()

    assert [entry["seq"] for entry in first["items"]] == [1, 2]
    assert [entry["seq"] for entry in rest["items"]] == [3, 4, 5]
    assert rest["next_after"] is None
    assert rest["items"][0]["prev_hash"] == first["items"][1]["hash"]


def test_a_redelivered_action_is_chained_once(
    deliver: Callable[[BaseModel], Envelope], redeliver: Callable[[Envelope], None], db: Engine
) -> None:
    envelope = deliver(
        AuditRecorded(
            occurred_at=datetime.now(UTC),
            service="enrolment",
            actor="a",
            role="operator",
            action="x",
            subject="y",
        )
    )
    redeliver(envelope)

    with db.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM reconciliation.audit_log")).scalar_one() == 1


def test_an_intact_chain_is_verified(
    deliver: Callable[[BaseModel], Envelope], client: TestClient, tokens: dict[str, str]
) -> None:
    record(deliver, 4)

    assert verification(client, tokens["auditor"]) == {
        "intact": True,
        "checked": 4,
        "tampering": None,
        "position": None,
        "seq": None,
        "detail": "every entry links to the one before and matches its hash",
    }


@pytest.mark.parametrize(
    ("tampering_sql", "kind", "seq"),
    [
        (
            'UPDATE reconciliation.audit_log SET after = \'{"state": "submitted", "amount": 1}\' WHERE seq = 3',
            "edited",
            3,
        ),
        ("DELETE FROM reconciliation.audit_log WHERE seq = 2", "deleted", 3),
        ("DELETE FROM reconciliation.audit_log WHERE seq = 5", "deleted", 5),
    ],
    ids=["edited", "deleted-in-the-middle", "deleted-newest"],
)
def test_a_tampered_chain_is_detected_and_located(
    deliver: Callable[[BaseModel], Envelope],
    client: TestClient,
    tokens: dict[str, str],
    db: Engine,
    tampering_sql: str,
    kind: str,
    seq: int,
) -> None:
    record(deliver, 5)
    with db.begin() as connection:
        connection.execute(text(tampering_sql))

    verdict = verification(client, tokens["auditor"])

    assert (verdict["intact"], verdict["tampering"], verdict["seq"]) == (False, kind, seq)
    assert f"seq {seq}" in str(verdict["detail"])


def test_an_entry_forged_with_a_valid_hash_behind_the_chain_is_detected_as_inserted(
    deliver: Callable[[BaseModel], Envelope], client: TestClient, tokens: dict[str, str], db: Engine
) -> None:
    record(deliver, 5)
    with db.begin() as connection:
        [newest] = list(
            connection.execute(text("SELECT seq, hash FROM reconciliation.audit_log WHERE seq = 5"))
        )
        forged = chain_entry(
            AuditEntry(5, datetime.now(UTC), "", "", "", "", "", None, None, "", newest.hash),
            occurred_at=datetime.now(UTC),
            actor="mallory",
            role="admin",
            service="payments",
            action="cycle.release",
            subject="cycle/9",
        )
        connection.execute(
            text(
                "INSERT INTO reconciliation.audit_log (seq, occurred_at, actor, role, service, action, subject,"
                " prev_hash, hash) VALUES (:seq, :at, :actor, :role, :service, :action, :subject, :prev, :hash)"
            ),
            {
                "seq": forged.seq,
                "at": forged.occurred_at,
                "actor": forged.actor,
                "role": forged.role,
                "service": forged.service,
                "action": forged.action,
                "subject": forged.subject,
                "prev": forged.prev_hash,
                "hash": forged.hash,
            },
        )

    verdict = verification(client, tokens["auditor"])

    assert (verdict["intact"], verdict["tampering"]) == (False, "inserted")
    assert "recorded head is seq 5" in str(verdict["detail"])


def test_filet_audit_verify_says_intact_then_where_the_chain_was_edited(
    deliver: Callable[[BaseModel], Envelope], db: Engine, settings: Settings
) -> None:
    record(deliver, 3)
    runner = CliRunner(env={"DATABASE_URL": settings.database_url})

    intact = runner.invoke(audit, ["verify"])
    with db.begin() as connection:
        connection.execute(text("UPDATE reconciliation.audit_log SET actor = 'someone else' WHERE seq = 2"))
    broken = runner.invoke(audit, ["verify"])

    assert (intact.exit_code, intact.output.strip()) == (0, "audit chain intact: 3 entries")
    assert broken.exit_code == 1
    assert "edited at position 1 (seq 2)" in broken.output


def test_filet_statements_account_makes_an_account_known(db: Engine, settings: Settings) -> None:
    runner = CliRunner(env={"DATABASE_URL": settings.database_url})

    result = runner.invoke(statements, ["account", "ML13ML0160100100000012345678", "--provider", "bank"])

    assert result.exit_code == 0, result.output
    with db.connect() as connection:
        provider = connection.execute(
            text(
                "SELECT provider FROM reconciliation.known_account WHERE account_id = 'ML13ML0160100100000012345678'"
            )
        ).scalar_one()
    assert provider == "bank"
