"""`cycle.reconciled` after every change of a cycle's outcomes, status conflicts, and statements read page by page."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import pytest
from fastapi.testclient import TestClient
from payments_news import AT, instructed, outcome
from pydantic import BaseModel
from sqlalchemy import Engine, text

from reconciliation.db.unit_of_work import ReconciliationUnitOfWork
from reconciliation.domain.summary import summarise, summarise_groups
from shared.events import Envelope, decode
from shared.events.contracts import (
    CycleReconciled,
    PaymentsConfirmed,
    PaymentsSent,
    PaymentsStatusConflicted,
)
from shared.settings import Settings

STATEMENTS = Path(__file__).resolve().parents[2] / "fixtures" / "statements"
CAMT = STATEMENTS / "camt053_BFML_770001_20250314.xml"
CYCLE = uuid.UUID("2025a000-0000-4000-8000-000000000001")  # the cycle of the fixture instructions
OTHER_CYCLE = uuid.UUID("2025a000-0000-4000-8000-000000000002")

pytestmark = pytest.mark.usefixtures("accounts")


class Deliver(Protocol):
    """The `deliver` fixture: one event through reconciliation's real inbox, in its own transaction."""

    def __call__(self, data: BaseModel, *, subject: str = ..., at: datetime | None = ...) -> Envelope: ...


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def import_camt(client: TestClient, token: str) -> str:
    answer = client.post(
        "/v1/statements",
        content=CAMT.read_bytes(),
        headers={**bearer(token), "Content-Type": "application/xml"},
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["statements"][0]["statement_id"])


def cycles_reconciled(engine: Engine) -> list[CycleReconciled]:
    with engine.connect() as connection:
        payloads = connection.execute(
            text("SELECT payload FROM reconciliation.outbox WHERE type = 'cycle.reconciled' ORDER BY id")
        ).scalars()
        found = [decode(bytes(payload)).data for payload in payloads]
    assert all(isinstance(data, CycleReconciled) for data in found)
    return [data for data in found if isinstance(data, CycleReconciled)]


def test_a_statement_import_publishes_cycle_reconciled_once_with_the_summary_it_leaves(
    client: TestClient, tokens: dict[str, str], instruct: Callable[[str, str], None], db: Engine
) -> None:
    instruct("bank", "bank")
    before = len(cycles_reconciled(db))

    import_camt(client, tokens["operator"])

    published = cycles_reconciled(db)[before:]
    assert [event.cycle_id for event in published] == [CYCLE]
    summary = client.get(f"/v1/cycles/{CYCLE}/reconciliation", headers=bearer(tokens["auditor"])).json()
    assert published[0].summary == summary


def test_instructions_of_one_cycle_arriving_together_publish_one_cycle_reconciled(
    deliver: Deliver, db: Engine
) -> None:
    deliver(instructed(OTHER_CYCLE, "PMT25Q9-000001", "PMT25Q9-000002"), subject=str(OTHER_CYCLE))

    [published] = cycles_reconciled(db)
    assert published.cycle_id == OTHER_CYCLE
    assert published.summary["total"]["planned"]["count"] == 2


def test_payments_events_that_change_no_outcome_publish_no_cycle_reconciled(
    deliver: Deliver, redeliver: Callable[[Envelope], None], db: Engine
) -> None:
    envelope = deliver(instructed(OTHER_CYCLE, "PMT25Q9-000001"), subject=str(OTHER_CYCLE))

    redeliver(envelope)
    deliver(PaymentsSent(cycle_id=OTHER_CYCLE, items=[outcome("PMT25Q9-000001", "SUBMITTED")]))

    assert len(cycles_reconciled(db)) == 1
    # the new state is stored all the same, with the outcome it leaves unchanged
    assert _stored("PMT25Q9-000001", db) == ("submitted", None, None, None, "AWAITING_PROVIDER", 0)


def _stored(instruction_id: str, db: Engine) -> tuple[Any, ...]:
    with db.connect() as connection:
        return tuple(
            connection.execute(
                text(
                    "SELECT state, provider_tx_ref, confirmed_on, confirmed_amount, outcome, settled_amount "
                    "FROM reconciliation.expectation WHERE instruction_id = :i"
                ),
                {"i": instruction_id},
            ).one()
        )


def test_a_confirmation_stores_the_state_the_providers_facts_and_the_outcome_they_lead_to(
    deliver: Deliver, db: Engine
) -> None:
    deliver(instructed(OTHER_CYCLE, "PMT25Q9-000001", "PMT25Q9-000002"), subject=str(OTHER_CYCLE))
    deliver(PaymentsSent(cycle_id=OTHER_CYCLE, items=[outcome("PMT25Q9-000001", "SUBMITTED")]))

    deliver(
        PaymentsConfirmed(
            cycle_id=OTHER_CYCLE,
            items=[
                outcome("PMT25Q9-000001", "PENDING"),
                outcome("PMT25Q9-000001", "SUCCEEDED", provider_tx_ref="OM-777", amount=30_000),
                outcome("PMT25Q9-000001", "PENDING"),  # late: a final state stays
            ],
        )
    )

    stored = _stored("PMT25Q9-000001", db)
    assert stored[:4] == ("succeeded", "OM-777", AT.date(), 30_000)
    assert stored[4] != "AWAITING_PROVIDER"  # judged again from the new state
    assert _stored("PMT25Q9-000002", db) == (
        "instructed",
        None,
        None,
        None,
        None,
        0,
    )  # never judged otherwise
    summary = cycles_reconciled(db)[-1].summary
    assert summary["by_provider"]["orange_money"]["confirmed"]["count"] == 1
    assert summary["payment_states"] == {"instructed": 1, "succeeded": 1}  # as payments would count them


def test_a_conflicting_terminal_status_keeps_the_state_and_opens_a_status_conflict(
    client: TestClient, tokens: dict[str, str], deliver: Deliver, db: Engine
) -> None:
    deliver(instructed(OTHER_CYCLE, "PMT25Q9-000001"), subject=str(OTHER_CYCLE))
    deliver(PaymentsConfirmed(cycle_id=OTHER_CYCLE, items=[outcome("PMT25Q9-000001", "SUCCEEDED")]))

    deliver(
        PaymentsStatusConflicted(
            cycle_id=OTHER_CYCLE,
            items=[outcome("PMT25Q9-000001", "SUCCEEDED", reported_status="FAILED")],
        )
    )

    with db.connect() as connection:
        state, stored_outcome = connection.execute(
            text(
                "SELECT state, outcome FROM reconciliation.expectation WHERE instruction_id = 'PMT25Q9-000001'"
            )
        ).one()
    assert (state, stored_outcome) == ("succeeded", "STATUS_CONFLICT")
    [found] = client.get(
        f"/v1/cycles/{OTHER_CYCLE}/discrepancies?category=STATUS_CONFLICT", headers=bearer(tokens["auditor"])
    ).json()["items"]
    assert (found["instruction_id"], found["status"], found["amount_at_stake"]) == (
        "PMT25Q9-000001",
        "open",
        30_000,
    )
    assert "FAILED" in found["suggested_action"]
    assert cycles_reconciled(db)[-1].summary["total"]["unmatched"]["count"] == 1


def test_statement_lines_come_in_pages_that_follow_one_another(
    client: TestClient, tokens: dict[str, str], instruct: Callable[[str, str], None]
) -> None:
    instruct("bank", "bank")
    statement_id = import_camt(client, tokens["operator"])
    whole = client.get(f"/v1/statements/{statement_id}", headers=bearer(tokens["auditor"])).json()

    pages, after = [], -1
    while after is not None:
        page = client.get(
            f"/v1/statements/{statement_id}?limit=3&after={after}", headers=bearer(tokens["auditor"])
        ).json()
        pages.append(page)
        after = page["next_after"]

    assert whole["next_after"] is None
    assert all(len(page["lines"]) <= 3 for page in pages)
    assert [line for page in pages for line in page["lines"]] == whole["lines"]
    assert len(whole["lines"]) == whole["line_count"] > 3
    assert [item for page in pages for item in page["discrepancies"]] == whole["discrepancies"]


def test_a_page_of_lines_carries_only_the_discrepancies_of_its_lines(
    client: TestClient, tokens: dict[str, str], instruct: Callable[[str, str], None]
) -> None:
    instruct("bank", "bank")
    statement_id = import_camt(client, tokens["operator"])

    page = client.get(
        f"/v1/statements/{statement_id}?limit=2&after=0", headers=bearer(tokens["auditor"])
    ).json()

    assert [line["position"] for line in page["lines"]] == [1, 2]
    assert {item["line_position"] for item in page["discrepancies"]} <= {1, 2}


def test_a_page_larger_than_the_limit_is_refused(client: TestClient, tokens: dict[str, str]) -> None:
    answer = client.get(f"/v1/statements/{uuid.uuid4()}?limit=5001", headers=bearer(tokens["auditor"]))

    assert answer.status_code == 422


def test_the_summary_counted_in_sql_equals_the_summary_of_every_expectation(
    client: TestClient,
    tokens: dict[str, str],
    instruct: Callable[[str, str], None],
    deliver: Deliver,
    db: Engine,
    settings: Settings,
) -> None:
    instruct("bank", "bank")
    instruct("orange_bulk_csv", "orange_money")
    import_camt(client, tokens["operator"])
    deliver(instructed(CYCLE, "PMT25Q9-000001"), subject=str(CYCLE))
    deliver(
        PaymentsStatusConflicted(
            cycle_id=CYCLE, items=[outcome("PMT25Q9-000001", "SUBMITTED", reported_status="FAILED")]
        )
    )

    with ReconciliationUnitOfWork(db, topic_prefix=settings.topic_prefix) as uow:
        in_sql = summarise_groups(uow.expectations.groups_of_cycle(CYCLE))
        in_python = summarise(uow.expectations.of_cycle(CYCLE))

    assert in_sql == in_python
    assert in_sql.total.tallies != summarise([]).total.tallies
