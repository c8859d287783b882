"""Provider callbacks through the real endpoint: kept raw and acknowledged, then applied from the inbox in batches."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from payments.db.unit_of_work import PaymentsUnitOfWork
from payments.settings import PaymentsSettings
from payments.use_cases.process_pending_callbacks import process_pending_callbacks

Flow = Any
Seed = Any
Process = Callable[[], int]
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "callbacks"
SECRET = "wave-test-secret"
ACK = {"gsma": 204, "mtn": 200, "wave": 200}


def signed(body: bytes, *, secret: str = SECRET, at: int | None = None) -> dict[str, str]:
    stamp = str(at if at is not None else int(time.time()))
    digest = hmac.new(secret.encode(), stamp.encode() + body, hashlib.sha256).hexdigest()
    return {"Wave-Signature": f"t={stamp},v1={digest}", "Content-Type": "application/json"}


@pytest.fixture
def sent(flow: Flow, seed: Seed, db: Engine) -> Any:
    """Payments PMT25Q1-000001… released and marked sent (no dispatcher): what a provider may call back about."""

    def make(count: int, operator: str = "other") -> list[dict[str, Any]]:
        flow.scheme(programme_code="PFS", reference_code="PMT", first_period="2025-Q1")
        seed("PFS", count, operator=operator)
        cycle_id = flow.released("PFS", "2025-Q1")
        with db.begin() as conn:
            conn.execute(
                text("UPDATE \"payments\".payment SET state = 'SUBMITTED' WHERE cycle_id = :c"),
                {"c": cycle_id},
            )
            rows = conn.execute(text('SELECT * FROM "payments".payment ORDER BY reference')).mappings().all()
        return [dict(row) for row in rows]

    return make


def _payment(db: Engine, reference: str) -> dict[str, Any]:
    with db.connect() as conn:
        row = (
            conn.execute(
                text(
                    'SELECT p.*, EXISTS (SELECT 1 FROM "payments".query_due q WHERE q.payment_id = p.id) '
                    'AS queued FROM "payments".payment p WHERE reference = :r'
                ),
                {"r": reference},
            )
            .mappings()
            .one()
        )
    return dict(row)


def _raw(db: Engine) -> list[tuple[str, str]]:
    with db.connect() as conn:
        return [
            (str(p), str(o))
            for p, o in conn.execute(
                text('SELECT provider, outcome FROM "payments".raw_callback ORDER BY id')
            )
        ]


def _wave_event(payment: dict[str, Any], status: str, event_id: str = "EV_1") -> bytes:
    data = {
        "id": "pt-test0001",
        "currency": "XOF",
        "receive_amount": str(payment["amount"]),
        "fee": "300",
        "mobile": payment["payee_msisdn"],
        "client_reference": payment["reference"],
        "status": status,
        "timestamp": "2026-01-10T09:00:00Z",
    }
    return json.dumps({"id": event_id, "type": f"payout.{status}", "data": data}).encode()


def test_a_signed_wave_webhook_confirms_the_payment_and_is_kept_raw(
    flow: Flow, sent: Any, db: Engine, process_callbacks: Process
) -> None:
    payment = sent(1)[0]
    body = _wave_event(payment, "succeeded")

    answer = flow.api.post("/v1/callbacks/wave", content=body, headers=signed(body))
    assert process_callbacks() == 1

    assert answer.status_code == 200
    assert _payment(db, payment["reference"])["state"] == "SUCCEEDED"
    with db.connect() as conn:
        stored = conn.execute(text('SELECT body, headers FROM "payments".raw_callback')).one()
    assert bytes(stored.body) == body
    assert "wave-signature" in stored.headers


def test_a_webhook_signed_with_the_previous_secret_is_still_accepted_during_rotation(
    flow: Flow, sent: Any, db: Engine, process_callbacks: Process
) -> None:
    payment = sent(1)[0]
    body = _wave_event(payment, "succeeded")

    answer = flow.api.post("/v1/callbacks/wave", content=body, headers=signed(body, secret="an-old-secret"))
    process_callbacks()

    assert answer.status_code == 200
    assert _payment(db, payment["reference"])["state"] == "SUCCEEDED"


def test_a_bad_signature_is_refused_with_401_kept_as_discarded_at_once_and_changes_nothing(
    flow: Flow, sent: Any, db: Engine, process_callbacks: Process
) -> None:
    payment = sent(1)[0]
    body = _wave_event(payment, "succeeded")

    answer = flow.api.post("/v1/callbacks/wave", content=body, headers=signed(body, secret="not-our-secret"))

    assert answer.status_code == 401
    assert _raw(db) == [("wave", "discarded")]  # settled at receipt: nothing left for the processor
    assert process_callbacks() == 0
    assert _payment(db, payment["reference"])["state"] == "SUBMITTED"
    with db.connect() as conn:
        stored = conn.execute(text('SELECT body, detail FROM "payments".raw_callback')).one()
    assert bytes(stored.body) == body
    assert "Wave-Signature" in stored.detail


def test_a_stale_timestamp_is_refused_even_with_a_good_signature(
    flow: Flow, sent: Any, db: Engine, process_callbacks: Process
) -> None:
    payment = sent(1)[0]
    body = _wave_event(payment, "succeeded")

    answer = flow.api.post(
        "/v1/callbacks/wave", content=body, headers=signed(body, at=int(time.time()) - 3600)
    )
    process_callbacks()

    assert answer.status_code == 401
    assert _raw(db) == [("wave", "discarded")]
    assert _payment(db, payment["reference"])["state"] == "SUBMITTED"


def test_an_unknown_reference_is_acknowledged_kept_and_reported(
    flow: Flow, sent: Any, db: Engine, process_callbacks: Process
) -> None:
    payment = dict(sent(1)[0], reference="ZZZ99Q9-000001")
    body = _wave_event(payment, "succeeded")

    answer = flow.api.post("/v1/callbacks/wave", content=body, headers=signed(body))
    process_callbacks()
    unmatched = flow.api.get("/v1/callbacks/unmatched", headers=flow.auth("auditor")).json()

    assert answer.status_code == 200
    assert [item["outcome"] for item in unmatched] == ["unknown_reference"]
    assert "ZZZ99Q9-000001" in unmatched[0]["body"]


@pytest.mark.parametrize("passes", ["one pass", "a pass per callback"])
def test_a_callback_twice_applies_once_and_a_stale_one_changes_nothing(
    flow: Flow, sent: Any, db: Engine, process_callbacks: Process, passes: str
) -> None:
    payment = sent(1)[0]
    succeeded = _wave_event(payment, "succeeded", "EV_2")
    processing = _wave_event(payment, "processing", "EV_1")

    for body in (succeeded, succeeded, processing):
        assert flow.api.post("/v1/callbacks/wave", content=body, headers=signed(body)).status_code == 200
        if passes == "a pass per callback":
            assert process_callbacks() == 1
    process_callbacks()

    assert _payment(db, payment["reference"])["state"] == "SUCCEEDED"
    assert _raw(db) == [("wave", "applied"), ("wave", "duplicate"), ("wave", "applied")]
    detail = flow.api.get(f"/v1/payments/{payment['id']}", headers=flow.auth("auditor")).json()
    assert [step["to_state"] for step in detail["history"]].count("SUCCEEDED") == 1


def test_a_conflicting_final_status_changes_nothing_and_is_reported_as_a_status_conflict(
    flow: Flow, sent: Any, db: Engine, process_callbacks: Process
) -> None:
    payment = sent(1)[0]
    for event_id, status in (("EV_1", "succeeded"), ("EV_2", "failed")):
        body = _wave_event(payment, status, event_id)
        flow.api.post("/v1/callbacks/wave", content=body, headers=signed(body))
    process_callbacks()

    assert _payment(db, payment["reference"])["state"] == "SUCCEEDED"
    with db.connect() as conn:
        types = list(conn.execute(text('SELECT type FROM "payments".outbox ORDER BY id')).scalars())
    assert "payments.status_conflicted" in types


def test_an_unsigned_final_callback_waits_for_a_status_query(
    flow: Flow, sent: Any, db: Engine, process_callbacks: Process
) -> None:
    payment = sent(1, operator="moov")[0]
    body = json.dumps(
        {"externalId": payment["reference"], "amount": "30000", "currency": "XOF", "status": "SUCCESSFUL"}
    )

    answer = flow.api.put(f"/v1/callbacks/mtn/{payment['provider_request_key']}", content=body)
    process_callbacks()

    assert answer.status_code == 200
    after = _payment(db, payment["reference"])
    # queued for the query; the payment row itself is not written (`query_due`)
    assert (after["state"], after["needs_query"], after["queued"]) == ("SUBMITTED", False, True)
    assert after["updated_at"] == payment["updated_at"]
    shown = flow.api.get(f"/v1/payments/{payment['id']}", headers=flow.auth("auditor")).json()
    assert shown["needs_query"] is True


def test_a_callback_to_a_path_no_payment_has_is_kept_as_unknown(
    flow: Flow, sent: Any, db: Engine, process_callbacks: Process
) -> None:
    sent(1, operator="moov")

    answer = flow.api.put("/v1/callbacks/mtn/6f1f3c8e-8d0a-4c55-9a41-3f7e0e2b9d11", content=b"{}")
    process_callbacks()

    assert answer.status_code == 200
    assert _raw(db) == [("mtn", "unknown_reference")]


def _fixtures() -> list[Path]:
    return sorted(path for path in FIXTURES.glob("*/*.json") if "raw_body" in json.loads(path.read_text()))


@pytest.mark.parametrize("path", _fixtures(), ids=lambda path: path.stem)
def test_every_callback_fixture_replayed_through_the_endpoint_gives_its_expected_answer_and_state(
    flow: Flow, sent: Any, db: Engine, process_callbacks: Process, path: Path
) -> None:
    fixture = json.loads(path.read_text())
    expected = fixture["expected"]
    url: str = fixture["request"]["url"]
    provider = "gsma" if "gsma" in url else "mtn" if "mtn" in url else "wave" if "wave" in url else "mpesa"
    if provider == "mpesa":
        answer = flow.api.post("/v1/callbacks/mpesa", content=fixture["raw_body"])
        assert answer.status_code == 404  # no M-Pesa adapter: refused, never applied
        return
    (reference, state_after), *_ = expected["instruction_state_after"].items()
    count = int(reference[-2:])
    payments = sent(count, operator={"gsma": "orange", "mtn": "moov", "wave": "other"}[provider])
    target = next(p for p in payments if p["reference"] == reference)
    body = fixture["raw_body"].encode()
    headers = dict(fixture["request"]["headers"])
    key = url.rsplit("/", 1)[-1]
    # The fixture's key in place of the one the payment was given (on the payment and where it is looked up).
    fixture_key = headers.get("X-CorrelationID", key if provider == "mtn" else target["provider_request_key"])
    with db.begin() as conn:
        for table, column in (("payment", "id"), ("payment_identity", "payment_id")):
            conn.execute(
                text(f'UPDATE "payments".{table} SET provider_request_key = :k WHERE {column} = :i'),
                {"k": fixture_key, "i": target["id"]},
            )
    if provider == "wave":
        headers = signed(body)
        answer = flow.api.post("/v1/callbacks/wave", content=body, headers=headers)
    else:
        path_key = headers.get("X-CorrelationID", key)
        answer = flow.api.request(
            fixture["request"]["method"],
            f"/v1/callbacks/{provider}/{path_key}",
            content=body,
            headers=headers,
        )

    assert answer.status_code == expected["http_response"]
    assert process_callbacks() == 1
    after = _payment(db, reference)
    detail = flow.api.get(f"/v1/payments/{after['id']}", headers=flow.auth("auditor")).json()
    if provider == "wave":
        assert after["state"] == state_after
        assert (
            after["provider_tx_ref"] == expected["provider_tx_ref"] if "provider_tx_ref" in expected else True
        )
    else:
        # unsigned: the callback's word is recorded, and money state waits for an authenticated status query
        assert after["needs_query"] or after["queued"]
        assert any(
            step["outcome"] == "unconfirmed" and state_after in step["reason"] for step in detail["history"]
        )
    if "canonical_failure_code" in expected and provider == "wave":
        assert after["failure_code"] == expected["canonical_failure_code"]


# --- the inbox: received and acknowledged first, applied later in batches ------------------------------------


def _pending(db: Engine) -> list[dict[str, Any]]:
    with db.connect() as conn:
        rows = conn.execute(
            text(
                'SELECT provider, key, batch, received_at FROM "payments".raw_callback '
                "WHERE outcome IS NULL ORDER BY id"
            )
        ).mappings()
        return [dict(row) for row in rows]


def test_a_callback_is_stored_durably_and_acknowledged_before_it_is_processed(
    flow: Flow, sent: Any, db: Engine, process_callbacks: Process
) -> None:
    (wave_payment,) = sent(1)
    body = _wave_event(wave_payment, "succeeded")
    mtn_key = "6f1f3c8e-8d0a-4c55-9a41-3f7e0e2b9d11"

    assert flow.api.post("/v1/callbacks/wave", content=body, headers=signed(body)).status_code == 200
    assert flow.api.put(f"/v1/callbacks/mtn/{mtn_key}", content=b"{}").status_code == 200
    assert flow.api.put(f"/v1/callbacks/gsma/batches/{mtn_key}", content=b"{}").status_code == 204

    pending = _pending(db)
    assert [(row["provider"], row["key"], row["batch"]) for row in pending] == [
        ("wave", None, False),
        ("mtn", mtn_key, False),
        ("gsma", mtn_key, True),
    ]
    assert _payment(db, wave_payment["reference"])["state"] == "SUBMITTED"  # acknowledged, not yet applied

    assert process_callbacks() == 3
    assert _pending(db) == []
    assert _payment(db, wave_payment["reference"])["state"] == "SUCCEEDED"
    assert _raw(db) == [("wave", "applied"), ("mtn", "unknown_reference"), ("gsma", "unknown_reference")]


def test_a_batch_of_callbacks_for_many_payments_is_applied_in_one_pass_with_duplicates_counted_once(
    flow: Flow,
    sent: Any,
    db: Engine,
    uow: Callable[[], PaymentsUnitOfWork],
    payments_settings: PaymentsSettings,
) -> None:
    payments = sent(40)
    bodies = [_wave_event(p, "succeeded", f"EV_{p['reference']}") for p in payments]
    stale = [_wave_event(p, "processing", f"EV_early_{p['reference']}") for p in payments[:5]]
    for body in [*bodies, *bodies[:10], *stale]:
        assert flow.api.post("/v1/callbacks/wave", content=body, headers=signed(body)).status_code == 200
    assert len(_pending(db)) == 55

    with uow() as unit:
        settled = process_pending_callbacks(unit, limit=1000, wave_secrets=payments_settings.secrets())
        unit.commit()

    assert settled == 55
    assert _pending(db) == []
    outcomes = Counter(outcome for _, outcome in _raw(db))
    assert outcomes == {"applied": 45, "duplicate": 10}
    with db.connect() as conn:
        states = Counter(conn.execute(text('SELECT state FROM "payments".payment')).scalars())
        confirmed = conn.execute(
            text(
                "SELECT count(*) FROM \"payments\".payment_history WHERE to_state = 'SUCCEEDED' "
                "AND outcome = 'transitioned' AND source = 'callback:wave'"
            )
        ).scalar_one()
        events = list(
            conn.execute(
                text("SELECT payload FROM \"payments\".outbox WHERE type = 'payments.confirmed'")
            ).scalars()
        )
    assert states == {"SUCCEEDED": 40}
    assert confirmed == 40  # each payment confirmed once, duplicates and the late PROCESSING changed nothing
    items = [item for event in events for item in json.loads(bytes(event))["data"]["items"]]
    assert sorted(item["instruction_id"] for item in items) == sorted(p["reference"] for p in payments)


def test_a_gsma_callback_whose_correlation_id_differs_from_its_path_is_refused_and_kept_as_discarded(
    flow: Flow, sent: Any, db: Engine, process_callbacks: Process
) -> None:
    (payment,) = sent(1, operator="orange")
    key = payment["provider_request_key"]
    body = json.dumps({"transactionStatus": "completed", "requestingOrganisationTransactionReference": "x"})

    answer = flow.api.put(
        f"/v1/callbacks/gsma/{key}",
        content=body,
        headers={"X-CorrelationID": "0b0e7d43-0d3c-4a51-8f0e-4a0fb5a4c8f2"},
    )

    assert answer.status_code == 400
    assert _raw(db) == [("gsma", "discarded")]
    assert process_callbacks() == 0
    after = _payment(db, payment["reference"])
    assert (after["state"], after["needs_query"], after["queued"]) == ("SUBMITTED", False, False)


def test_a_crash_between_receipt_and_processing_loses_nothing(
    flow: Flow,
    sent: Any,
    db: Engine,
    uow: Callable[[], PaymentsUnitOfWork],
    payments_settings: PaymentsSettings,
    process_callbacks: Process,
) -> None:
    payments = sent(3)
    for payment in payments:
        body = _wave_event(payment, "succeeded", f"EV_{payment['reference']}")
        assert flow.api.post("/v1/callbacks/wave", content=body, headers=signed(body)).status_code == 200
    secrets = payments_settings.secrets()

    with uow() as dying:
        assert process_pending_callbacks(dying, limit=1000, wave_secrets=secrets) == 3
        with uow() as other:  # a second processor skips the rows the first one holds
            assert process_pending_callbacks(other, limit=1000, wave_secrets=secrets) == 0
        # the process dies here: its transaction never commits

    assert len(_pending(db)) == 3
    assert {_payment(db, p["reference"])["state"] for p in payments} == {"SUBMITTED"}
    assert process_callbacks() == 3
    assert {_payment(db, p["reference"])["state"] for p in payments} == {"SUCCEEDED"}
    assert _raw(db) == [("wave", "applied")] * 3


def test_a_wave_callback_kept_pending_past_the_signature_tolerance_is_still_applied(
    flow: Flow, sent: Any, db: Engine, process_callbacks: Process
) -> None:
    (payment,) = sent(1)
    body = _wave_event(payment, "succeeded")
    assert flow.api.post("/v1/callbacks/wave", content=body, headers=signed(body)).status_code == 200
    with db.begin() as conn:  # the dispatcher was down for an hour
        conn.execute(
            text(
                "UPDATE \"payments\".raw_callback SET received_at = received_at - interval '1 hour', "
                "headers = jsonb_set(headers, '{wave-signature}', to_jsonb(CAST(:s AS text)))"
            ),
            {"s": signed(body, at=int(time.time()) - 3600)["Wave-Signature"]},
        )

    assert process_callbacks() == 1

    assert _payment(db, payment["reference"])["state"] == "SUCCEEDED"


def test_callback_routes_answer_json_for_what_they_do_not_serve(flow: Flow, db: Engine) -> None:
    unknown = flow.api.post("/v1/callbacks/paypal", content=b"{}")
    wrong_method = flow.api.get("/v1/callbacks/wave")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"]
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"]
    with db.connect() as conn:
        assert conn.execute(text('SELECT count(*) FROM "payments".raw_callback')).scalar_one() == 0


def test_callbacks_are_counted_per_route_template_with_a_request_id(flow: Flow) -> None:
    answer = flow.api.put(
        "/v1/callbacks/mtn/7f0c7b1e-0000-4000-8000-000000000002", content=b'{"status":"SUCCESSFUL"}'
    )
    assert answer.status_code == 200
    assert answer.headers["x-request-id"]
    metrics = flow.api.get("/metrics").text
    assert 'route="/v1/callbacks/mtn/{reference_id}"' in metrics
