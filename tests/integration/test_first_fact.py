"""The first cross-service fact: a household registered in enrolment reaches payments and reconciliation."""

from __future__ import annotations

import threading

from bus import wait_until
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from enrolment.api.app import create_app
from enrolment.service import ENROLMENT
from payments import consumer as payments_consumer
from payments.db.unit_of_work import PaymentsUnitOfWork
from payments.service import PAYMENTS
from reconciliation import consumer as reconciliation_consumer
from reconciliation.db.unit_of_work import ReconciliationUnitOfWork
from reconciliation.service import RECONCILIATION
from shared.auth import TokenStore
from shared.service import build_consumer_loop, build_relay
from shared.settings import Settings


def test_a_registered_household_reaches_payments_and_reconciliation_through_the_broker(
    db: Engine, settings: Settings
) -> None:
    token = TokenStore(db).create(name="awa", role="operator")
    with TestClient(create_app(settings, db)) as client:
        answer = client.post(
            "/v1/households",
            json={
                "rsu_id": "RSU-GA-000777",
                "head_name": "Moussa Maïga",
                "size": 5,
                "region": "Gao",
                "cercle": "Gao",
                "commune": "Gao",
                "msisdn": "+22366554433",
                "operator": "moov",
            },
            headers={"Authorization": f"Bearer {token}"},
        )
    assert answer.status_code == 201
    household_id = answer.json()["id"]

    stop = threading.Event()
    workers = [
        build_relay(ENROLMENT, settings, db).run,
        build_consumer_loop(
            PAYMENTS, settings, db, handlers=payments_consumer.HANDLERS, topics=payments_consumer.TOPICS
        ).run,
        build_consumer_loop(
            RECONCILIATION,
            settings,
            db,
            handlers=reconciliation_consumer.HANDLERS,
            topics=reconciliation_consumer.TOPICS,
        ).run,
    ]
    threads = [threading.Thread(target=work, args=(stop,), daemon=True) for work in workers]
    for thread in threads:
        thread.start()
    try:
        with (
            PaymentsUnitOfWork(db, topic_prefix=settings.topic_prefix) as payments,
            ReconciliationUnitOfWork(db, topic_prefix=settings.topic_prefix) as recon,
        ):
            wait_until(
                lambda: (
                    payments.beneficiaries.get(household_id) is not None
                    and recon.payees.get(household_id) is not None
                ),
                timeout=60,
                what="the household in both projections",
            )
            beneficiary = payments.beneficiaries.get(household_id)
            payee = recon.payees.get(household_id)
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)

    assert beneficiary is not None
    assert payee is not None
    assert (beneficiary["msisdn"], beneficiary["operator"], beneficiary["region"]) == (
        "+22366554433",
        "moov",
        "Gao",
    )
    assert (payee["head_name"], payee["commune"]) == ("Moussa Maïga", "Gao")
