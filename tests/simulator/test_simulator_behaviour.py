"""Behaviour knobs: incidents, callback anomalies, amounts, reversals, 'down', reproducibility, retries."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest

from simulator import CallbackReceiver, ReceivedCallback

MTN_HEADERS = {"Ocp-Apim-Subscription-Key": "key", "X-Target-Environment": "mtnmali"}


def behave(client: httpx.Client, knobs: dict[str, Any]) -> None:
    answer = client.put("/_admin/behaviour", json=knobs)
    assert answer.status_code == 200, answer.text


def mtn_transfer(
    client: httpx.Client, reference_id: str, external_id: str, callback_url: str | None = None
) -> int:
    """Sends a transfer; returns the HTTP status."""
    basic = base64.b64encode(b"user:key").decode()
    token = client.post("/mtn/disbursement/token/", headers=MTN_HEADERS | {"Authorization": f"Basic {basic}"})
    headers = MTN_HEADERS | {
        "Authorization": f"Bearer {token.json()['access_token']}",
        "X-Reference-Id": reference_id,
    }
    if callback_url:
        headers["X-Callback-Url"] = callback_url
    body = {
        "amount": "30000",
        "currency": "XOF",
        "externalId": external_id,
        "payee": {"partyIdType": "MSISDN", "partyId": "22377234511"},
    }
    return client.post("/mtn/disbursement/v1_0/transfer", headers=headers, json=body).status_code


def gsma_disburse(client: httpx.Client, reference: str, callback_url: str | None = None) -> httpx.Response:
    headers = {"X-CorrelationID": str(uuid.uuid4())}
    if callback_url:
        headers["X-Callback-URL"] = callback_url
    body = {
        "amount": "30000",
        "currency": "XOF",
        "creditParty": [{"key": "msisdn", "value": "+22376123401"}],
        "requestingOrganisationTransactionReference": reference,
    }
    return client.post("/gsma/transactions/type/disbursement", headers=headers, json=body)


def wave_payout(client: httpx.Client, reference: str) -> dict[str, Any]:
    headers = {"Authorization": "Bearer key", "idempotency-key": str(uuid.uuid4())}
    body = {
        "currency": "XOF",
        "receive_amount": "30000",
        "mobile": "+22378345621",
        "client_reference": reference,
    }
    payout: dict[str, Any] = client.post("/wave/v1/payout", headers=headers, json=body).json()
    return payout


def ledger_of(client: httpx.Client, reference: str) -> dict[str, Any]:
    ledger: dict[str, Any] = client.get("/_admin/ledger", params={"reference": reference}).json()
    return ledger


def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not hold in time")
        time.sleep(0.01)


def count(n: int) -> Callable[[list[ReceivedCallback]], bool]:
    return lambda got: len(got) >= n


def test_timeouts_without_result_still_leave_a_ledger_that_says_what_happened(
    client: httpx.Client, simulator_url: str
) -> None:
    behave(
        client,
        {"mtn": {"processing_ms": 5, "timeouts": {"rate": 1.0, "mode": "drop", "executed_share": 0.5}}},
    )
    sent = {f"PMT25Q1-T{n:05d}": str(uuid.uuid4()) for n in range(12)}

    for reference, reference_id in sent.items():
        with httpx.Client(base_url=simulator_url) as fresh, pytest.raises(httpx.RemoteProtocolError):
            mtn_transfer(fresh, reference_id, reference)

    incidents = client.get("/_admin/ledger", params={"dialect": "mtn"}).json()["incidents"]
    executed = {i["our_reference"] for i in incidents if i["executed"]}
    assert {i["kind"] for i in incidents} == {"timeout_drop"}
    assert 0 < len(executed) < len(sent)
    for reference in sent:
        assert ledger_of(client, reference)["count"] == (1 if reference in executed else 0)
    behave(client, {"mtn": {"processing_ms": 5}})
    for reference, reference_id in sent.items():
        assert mtn_transfer(client, reference_id, reference) == (409 if reference in executed else 202)


def test_a_hanging_answer_outlasts_the_clients_timeout_while_the_payment_goes_through(
    client: httpx.Client, simulator_url: str
) -> None:
    behave(
        client,
        {"gsma": {"processing_ms": 5, "timeouts": {"rate": 1.0, "mode": "hang", "executed_share": 1.0}}},
    )

    with httpx.Client(base_url=simulator_url, timeout=0.3) as impatient, pytest.raises(httpx.ReadTimeout):
        gsma_disburse(impatient, "PMT25Q1-000051")

    eventually(lambda: ledger_of(client, "PMT25Q1-000051")["payments"][0]["status"] == "succeeded")
    assert ledger_of(client, "PMT25Q1-000051")["incidents"][0]["kind"] == "timeout_hang"


def test_server_errors_answer_in_the_dialects_shape_without_paying(client: httpx.Client) -> None:
    behave(client, {"gsma": {"server_errors": {"rate": 1.0}}})

    answer = gsma_disburse(client, "PMT25Q1-000052")

    assert answer.status_code == 500
    assert answer.json()["errorCategory"] == "internal"
    assert ledger_of(client, "PMT25Q1-000052")["count"] == 0


def test_garbage_answers_cannot_be_read_as_json(client: httpx.Client) -> None:
    behave(client, {"gsma": {"garbage": {"rate": 1.0}}})

    answers = [gsma_disburse(client, f"PMT25Q1-G{n:05d}") for n in range(6)]

    for answer in answers:
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(answer.content)
    assert {answer.headers["content-type"].split(";")[0] for answer in answers} >= {"text/html"}


def test_duplicate_callbacks_repeat_the_same_body(
    client: httpx.Client, receiver: CallbackReceiver, callback_base: str
) -> None:
    behave(client, {"mtn": {"processing_ms": 5, "duplicate_callbacks": 1.0}})
    reference_id = str(uuid.uuid4())

    mtn_transfer(client, reference_id, "PMT25Q1-000053", f"{callback_base}/mtn/{reference_id}")

    first, second = receiver.wait_for(count(2), path_prefix=f"/mtn/{reference_id}")
    assert first.body == second.body
    labels = [c["label"] for c in ledger_of(client, "PMT25Q1-000053")["payments"][0]["callbacks"]]
    assert labels == ["succeeded", "duplicate-succeeded"]


def test_an_out_of_order_pending_callback_follows_the_final_one(
    client: httpx.Client, receiver: CallbackReceiver, callback_base: str
) -> None:
    behave(client, {"gsma": {"processing_ms": 5, "out_of_order_callbacks": 1.0}})

    gsma_disburse(client, "PMT25Q1-000054", f"{callback_base}/gsma/54")

    final, stale = receiver.wait_for(count(2), path_prefix="/gsma/54")
    assert [final.json()["transactionStatus"], stale.json()["transactionStatus"]] == ["completed", "pending"]


def test_a_conflicting_failure_follows_a_success_while_the_money_stays_paid(
    client: httpx.Client, receiver: CallbackReceiver
) -> None:
    behave(client, {"wave": {"processing_ms": 5, "conflicting_callbacks": 1.0}})

    payout = wave_payout(client, "PMT25Q1-000055")

    events = [c.json() for c in receiver.wait_for(count(2), path_prefix="/wave")]
    assert [event["type"] for event in events] == ["payout.succeeded", "payout.failed"]
    assert all(event["data"]["id"] == payout["id"] for event in events)
    assert ledger_of(client, "PMT25Q1-000055")["payments"][0]["status"] == "succeeded"


def test_late_callbacks_arrive_after_the_configured_delay(
    client: httpx.Client, receiver: CallbackReceiver, callback_base: str
) -> None:
    behave(client, {"gsma": {"processing_ms": 5, "late_callbacks": {"rate": 1.0, "delay_ms": 400}}})
    started = time.monotonic()

    gsma_disburse(client, "PMT25Q1-000056", f"{callback_base}/gsma/56")

    receiver.wait_for(count(1), path_prefix="/gsma/56")
    assert time.monotonic() - started >= 0.4


def test_an_amount_mismatch_pays_another_amount_than_asked_and_the_ledger_says_so(
    client: httpx.Client, receiver: CallbackReceiver, callback_base: str
) -> None:
    behave(client, {"gsma": {"processing_ms": 5, "amount_mismatch": {"rate": 1.0, "delta": -5000}}})

    gsma_disburse(client, "PMT25Q1-000057", f"{callback_base}/gsma/57")

    [callback] = receiver.wait_for(count(1), path_prefix="/gsma/57")
    assert callback.json()["amount"] == "30000"
    [payment] = ledger_of(client, "PMT25Q1-000057")["payments"]
    assert (payment["requested_amount"], payment["paid_amount"]) == (30000, 25000)


def test_a_successful_payment_is_later_reversed_and_announced(
    client: httpx.Client, receiver: CallbackReceiver, callback_base: str
) -> None:
    behave(client, {"gsma": {"processing_ms": 5, "reversals": {"rate": 1.0, "delay_ms": 50}}})

    gsma_disburse(client, "PMT25Q1-000058", f"{callback_base}/gsma/58")

    final, reversal = receiver.wait_for(count(2), path_prefix="/gsma/58")
    assert [final.json()["transactionStatus"], reversal.json()["transactionStatus"]] == [
        "completed",
        "reversed",
    ]
    reference = ledger_of(client, "PMT25Q1-000058")["references"]["PMT25Q1-000058"]
    assert reference["times_paid"] == 1
    assert reference["amount_returned"] == 30000


def test_down_answers_503_until_the_time_is_up(client: httpx.Client) -> None:
    behave(client, {"gsma": {"down": {"seconds": 0.3}}})

    assert gsma_disburse(client, "PMT25Q1-000059").status_code == 503
    eventually(lambda: gsma_disburse(client, "PMT25Q1-000059").status_code == 202)


def test_down_in_refuse_mode_refuses_connections_until_the_time_is_up(
    client: httpx.Client, simulator_url: str
) -> None:
    behave(client, {"mtn": {"down": {"seconds": 0.3, "mode": "refuse"}}})

    with httpx.Client(base_url=simulator_url) as fresh, pytest.raises(httpx.ConnectError):
        fresh.get("/_admin/health")

    def answers() -> bool:
        try:
            with httpx.Client(base_url=simulator_url) as fresh:
                return fresh.get("/_admin/health").status_code == 200
        except httpx.ConnectError:
            return False

    eventually(answers)


def test_the_same_seed_gives_every_reference_the_same_fate_whatever_the_order(client: httpx.Client) -> None:
    references = [f"PMT25Q1-R{n:05d}" for n in range(30)]

    def failed_in(order: list[str]) -> set[str]:
        client.post("/_admin/reset", json={"seed": 11})
        behave(client, {"gsma": {"processing_ms": 0, "failures": {"RECIPIENT_NOT_FOUND": 0.5}}})
        for reference in order:
            gsma_disburse(client, reference)
        payments = client.get("/_admin/ledger", params={"dialect": "gsma", "status": "failed"}).json()[
            "payments"
        ]
        return {payment["our_reference"] for payment in payments}

    assert failed_in(references) == failed_in(references[::-1])
    assert 0 < len(failed_in(references)) < len(references)


def test_callbacks_are_retried_until_the_receiver_takes_them(
    client: httpx.Client, receiver: CallbackReceiver, callback_base: str
) -> None:
    receiver.refuse(2)

    gsma_disburse(client, "PMT25Q1-000060", f"{callback_base}/gsma/60")

    receiver.wait_for(count(1), path_prefix="/gsma/60")
    eventually(lambda: ledger_of(client, "PMT25Q1-000060")["payments"][0]["callbacks"][0]["delivered"])
    assert ledger_of(client, "PMT25Q1-000060")["payments"][0]["callbacks"][0]["attempts"] == 3


def test_reset_empties_the_ledger_and_restores_the_start_up_behaviour(client: httpx.Client) -> None:
    behave(client, {"gsma": {"processing_ms": 0, "failures": {"EXPIRED": 1.0}}})
    gsma_disburse(client, "PMT25Q1-000061")

    client.post("/_admin/reset")

    assert client.get("/_admin/ledger/summary").json()["payments"] == 0
    assert client.get("/_admin/behaviour").json()["gsma"]["failures"] == {}


def test_unknown_knobs_are_refused(client: httpx.Client) -> None:
    answer = client.put("/_admin/behaviour", json={"gsma": {"failure_rate": 0.5}})

    assert answer.status_code == 422
    assert client.patch("/_admin/behaviour", json={"nokia": {}}).status_code == 422


def test_patch_amends_the_current_behaviour(client: httpx.Client) -> None:
    behave(client, {"mtn": {"duplicate_callbacks": 0.5}})

    amended = client.patch("/_admin/behaviour", json={"mtn": {"latency": {"fixed_ms": 1}}}).json()["mtn"]

    assert amended["duplicate_callbacks"] == 0.5
    assert amended["latency"] == {"fixed_ms": 1, "jitter_ms": 0}


def test_putting_an_empty_all_layer_resets_every_dialect_to_its_defaults(simulator: Any) -> None:
    httpx.patch(
        f"{simulator.base_url}/_admin/behaviour", json={"all": {"duplicate_callbacks": 0.5}}
    ).raise_for_status()
    httpx.put(f"{simulator.base_url}/_admin/behaviour", json={"all": {}}).raise_for_status()

    behaviour = httpx.get(f"{simulator.base_url}/_admin/behaviour").json()

    assert {dialect: knobs["duplicate_callbacks"] for dialect, knobs in behaviour.items()} == {
        "gsma": 0.0,
        "mtn": 0.0,
        "wave": 0.0,
        "orange": 0.0,
    }
