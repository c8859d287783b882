"""The consumer announces a changed cycle (`cycle.reconciled`) a while after the change, once, with the summary
it has then; the API's own changes (statement imports) announce theirs at commit (the other test modules)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from payments_news import instructed, outcome
from sqlalchemy import Engine, text

from reconciliation.consumer import announce_changed_cycles
from reconciliation.service import consumer_unit_of_work_factory
from shared.events import decode
from shared.events.contracts import (
    CycleReconciled,
    PaymentsConfirmed,
)
from shared.settings import Settings

CYCLE = uuid.UUID("2025a000-0000-4000-8000-000000000003")


def _announce(db: Engine, settings: Settings, *, after: float) -> int:
    quiet = settings.model_copy(update={"reconciled_every_seconds": after})
    return announce_changed_cycles(consumer_unit_of_work_factory(db, quiet))


def _announced(db: Engine) -> list[CycleReconciled]:
    with db.connect() as connection:
        payloads = connection.execute(
            text("SELECT payload FROM reconciliation.outbox WHERE type = 'cycle.reconciled' ORDER BY id")
        ).scalars()
        return [
            event for event in (decode(bytes(p)).data for p in payloads) if isinstance(event, CycleReconciled)
        ]


def _marked(db: Engine) -> list[uuid.UUID]:
    with db.connect() as connection:
        return list(
            connection.execute(text("SELECT cycle_id FROM reconciliation.cycle_announcement")).scalars()
        )


def test_the_consumer_marks_the_cycles_it_changes_and_announces_each_once_with_the_summary_it_has_then(
    db: Engine, settings: Settings, client: TestClient, tokens: dict[str, str], consumer_feed: Any
) -> None:
    consumer_feed.deliver(instructed(CYCLE, "PMT25Q8-000001", "PMT25Q8-000002"), subject=str(CYCLE))
    consumer_feed.deliver(
        PaymentsConfirmed(
            cycle_id=CYCLE,
            items=[
                outcome("PMT25Q8-000001", "SUCCEEDED", provider_tx_ref="OM-PMT25Q8-000001", amount=30_000)
            ],
        ),
        subject=str(CYCLE),
    )

    assert (_announced(db), _marked(db)) == ([], [CYCLE])
    assert _announce(db, settings, after=3600) == 0  # the change is not that old yet
    assert _marked(db) == [CYCLE]

    assert _announce(db, settings, after=0) == 1

    [announced] = _announced(db)
    summary = client.get(
        f"/v1/cycles/{CYCLE}/reconciliation", headers={"Authorization": f"Bearer {tokens['auditor']}"}
    ).json()
    assert announced.cycle_id == CYCLE
    assert announced.summary == summary
    assert summary["total"]["confirmed"]["count"] == 1
    assert _marked(db) == []
    assert _announce(db, settings, after=0) == 0
    assert len(_announced(db)) == 1


def test_a_cycle_a_transaction_is_still_changing_is_announced_once_that_transaction_has_committed(
    db: Engine, settings: Settings, consumer_feed: Any
) -> None:
    consumer_feed.deliver(instructed(CYCLE, "PMT25Q8-000001"), subject=str(CYCLE))
    open_unit_of_work = consumer_unit_of_work_factory(db, settings)

    with open_unit_of_work() as changing:
        changing.cycles.mark_changed({CYCLE})  # the mark is there already: this holds it

        assert _announce(db, settings, after=0) == 0
        changing.commit()

    assert _announce(db, settings, after=0) == 1
    assert [event.cycle_id for event in _announced(db)] == [CYCLE]
