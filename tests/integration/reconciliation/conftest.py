"""Fixtures of the reconciliation integration tests: the API on the real database, tokens, what it is fed.

Payments events are delivered as the payments service publishes them, through reconciliation's real inbox
(`shared.consumer.Inbox` with encoded envelopes); accounts and fundings are those of tests/fixtures.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import Engine

from reconciliation.api.app import create_app
from reconciliation.consumer import HANDLERS
from reconciliation.db.unit_of_work import ReconciliationUnitOfWork
from reconciliation.service import consumer_unit_of_work_factory, unit_of_work_factory
from reconciliation.use_cases.register_account import register_account, register_funding
from shared.auth import Principal, TokenStore
from shared.consumer import Delivery, Inbox
from shared.events import Envelope, encode
from shared.events.catalogue import type_of
from shared.events.contracts import InstructedPayment, PaymentOutcome, PaymentsInstructed, PaymentsSent
from shared.settings import Settings

ROLES = ("operator", "approver", "auditor", "admin", "provider:simulator", "vendor:v1")
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
BANK_ACCOUNT = "ML06ML0990100100000077000145"
ORANGE_ACCOUNT = "70000001"
CYCLE = uuid.UUID("2025a000-0000-4000-8000-000000000001")
SETUP = Principal(token_id=uuid.UUID(int=1), name="setup-operator", role="operator")

Deliver = Callable[[BaseModel], Envelope]
Instruct = Callable[[str, str], None]


class PaymentsFeed:
    """Delivers events as the payments service publishes them, through reconciliation's real inbox."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        unit_of_work: Callable[
            [Engine, Settings], Callable[[], ReconciliationUnitOfWork]
        ] = unit_of_work_factory,
    ) -> None:
        self.inbox = Inbox(
            name="reconciliation-tests", unit_of_work=unit_of_work(engine, settings), handlers=HANDLERS
        )
        self.offset = 0

    def deliver(self, data: BaseModel, *, subject: str = "subject", at: datetime | None = None) -> Envelope:
        envelope = Envelope(
            id=uuid.uuid4(),
            source="/filet/payments",
            type=type_of(data),
            time=at or datetime.now(UTC),
            subject=subject,
            data=data,
        )
        self.redeliver(envelope)
        return envelope

    def redeliver(self, envelope: Envelope) -> None:
        self.offset += 1
        self.inbox.apply(
            [
                Delivery(
                    topic="payments",
                    partition=0,
                    offset=self.offset,
                    key=envelope.key,
                    value=encode(envelope),
                )
            ]
        )

    def instruct(self, channel: str, provider: str) -> None:
        """`payments.instructed` then `payments.sent` (SUBMITTED) for a channel of tests/fixtures/instructions.csv,
        one pair per planned day."""
        with (FIXTURES / "instructions.csv").open(encoding="utf-8") as file:
            rows = [row for row in csv.DictReader(file) if row["provider_shape"] == channel]
        for day in sorted({row["planned_date"] for row in rows}):
            self._instruct_on(
                [row for row in rows if row["planned_date"] == day], provider, date.fromisoformat(day)
            )

    def _instruct_on(self, rows: Sequence[dict[str, str]], provider: str, on: date) -> None:
        payments = {row["instruction_id"]: uuid.uuid4() for row in rows}
        at = datetime.combine(on, time(8), tzinfo=UTC)
        bank = provider == "bank"
        items = [
            InstructedPayment(
                payment_id=payments[row["instruction_id"]],
                instruction_id=row["instruction_id"],
                provider_request_key=f"key-{row['instruction_id']}",
                household_id=uuid.uuid4(),
                payee_msisdn=row["msisdn"] or row["beneficiary_account"],
                amount=int(row["amount"]),
                base_amount=int(row["amount"]),
                provider=provider,
                modality="mobile_money",
                region="Ségou" if bank else "Kayes",
                cercle="Ségou" if bank else "Kita",
                commune="Pelengana" if bank else "Kita",
            )
            for row in rows
        ]
        instructed = PaymentsInstructed(cycle_id=CYCLE, programme_code="PFS", period="2025-Q1", items=items)
        self.deliver(instructed, subject=str(CYCLE), at=at)
        outcomes = [
            PaymentOutcome(
                payment_id=payments[row["instruction_id"]],
                instruction_id=row["instruction_id"],
                state="SUBMITTED",
                provider=provider,
                at=at,
            )
            for row in rows
        ]
        self.deliver(PaymentsSent(cycle_id=CYCLE, items=outcomes), subject=str(CYCLE), at=at)


@pytest.fixture
def client(db: Engine, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, db), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def tokens(db: Engine) -> dict[str, str]:
    store = TokenStore(db)
    return {role: store.create(name=f"{role}-user", role=role) for role in ROLES}


@pytest.fixture
def feed(db: Engine, settings: Settings) -> PaymentsFeed:
    return PaymentsFeed(db, settings)


@pytest.fixture
def consumer_feed(db: Engine, settings: Settings) -> PaymentsFeed:
    """As `feed`, in units of work as reconciliation's consumer opens them: they mark the cycles they change,
    for `announce_changed` to announce."""
    return PaymentsFeed(db, settings, consumer_unit_of_work_factory)


@pytest.fixture
def deliver(feed: PaymentsFeed) -> Deliver:
    """Deliver one event (of any registered type) to the consumer; returns its envelope."""
    return feed.deliver


@pytest.fixture
def redeliver(feed: PaymentsFeed) -> Callable[[Envelope], None]:
    return feed.redeliver


@pytest.fixture
def instruct(feed: PaymentsFeed) -> Instruct:
    """`instruct("bank", "bank")`, `instruct("orange_bulk_csv", "orange_money")`: the fixture instructions."""
    return feed.instruct


@pytest.fixture
def accounts(db: Engine, settings: Settings) -> None:
    """The programme's accounts and the float fundings of the fixtures (batch totals of instructions.csv)."""
    with ReconciliationUnitOfWork(db, topic_prefix=settings.topic_prefix) as uow:
        register_account(uow, account_id=BANK_ACCOUNT, provider="bank", registered_by=SETUP)
        register_account(uow, account_id=ORANGE_ACCOUNT, provider="orange_money", registered_by=SETUP)
        for reference, amount in (
            ("BAT25Q1-OM01", 240_000),
            ("BAT25Q1-GS01", 120_000),
            ("BAT25Q1-WV01", 120_000),
        ):
            register_funding(uow, reference=reference, amount=amount, registered_by=SETUP)
        uow.commit()
