"""The GSMA MMAPI v1.2 dialect: single and batch disbursements, polling, callbacks, duplicates."""

from __future__ import annotations

import hashlib
import time
import uuid
from typing import Any

import httpx

from simulator import CallbackReceiver


def disburse(
    client: httpx.Client,
    reference: str,
    *,
    correlation_id: str | None = None,
    callback_url: str | None = None,
    amount: str = "30000",
) -> httpx.Response:
    headers = {"X-CorrelationID": correlation_id or str(uuid.uuid4())}
    if callback_url:
        headers["X-Callback-URL"] = callback_url
    return client.post(
        "/gsma/transactions/type/disbursement", headers=headers, json=_transaction(reference, amount)
    )


def _transaction(reference: str, amount: str = "30000", msisdn: str = "+22376123401") -> dict[str, Any]:
    return {
        "amount": amount,
        "currency": "XOF",
        "type": "disbursement",
        "debitParty": [{"key": "walletid", "value": "PFS-ML-DISB-0001"}],
        "creditParty": [{"key": "msisdn", "value": msisdn}],
        "requestingOrganisationTransactionReference": reference,
        "descriptionText": "PFS transfert monetaire 2025-Q1",
    }


def test_a_disbursement_is_acknowledged_with_a_pending_request_state(
    client: httpx.Client, callback_base: str
) -> None:
    answer = disburse(client, "PMT25Q1-000001", callback_url=f"{callback_base}/gsma/PMT25Q1-000001")

    assert answer.status_code == 202
    state = answer.json()
    assert state["status"] == "pending"
    assert state["notificationMethod"] == "callback"
    assert uuid.UUID(state["serverCorrelationId"]).version == 4
    assert state["objectReference"]


def test_a_completed_disbursement_is_put_to_the_callback_url_with_the_transaction(
    client: httpx.Client, receiver: CallbackReceiver, callback_base: str
) -> None:
    correlation_id = str(uuid.uuid4())
    answer = disburse(
        client, "PMT25Q1-000001", correlation_id=correlation_id, callback_url=f"{callback_base}/gsma/1"
    )

    [callback] = receiver.wait_for(lambda got: len(got) == 1, path_prefix="/gsma/1")
    body = callback.json()
    assert callback.method == "PUT"
    assert callback.headers["x-correlationid"] == correlation_id
    assert callback.headers["x-content-hash"] == hashlib.sha256(callback.body).hexdigest()
    assert body["transactionStatus"] == "completed"
    assert body["transactionReference"] == answer.json()["objectReference"]
    assert body["requestingOrganisationTransactionReference"] == "PMT25Q1-000001"
    assert body["amount"] == "30000"
    assert body["fees"] == [{"feeType": "disbursementFee", "feeAmount": "150", "feeCurrency": "XOF"}]


def test_a_resend_with_the_same_correlation_id_is_refused_as_a_duplicate_and_never_pays_twice(
    client: httpx.Client, receiver: CallbackReceiver, callback_base: str
) -> None:
    correlation_id = str(uuid.uuid4())
    url = f"{callback_base}/gsma/dup"
    first = disburse(client, "PMT25Q1-000002", correlation_id=correlation_id, callback_url=url)
    second = disburse(client, "PMT25Q1-000002", correlation_id=correlation_id, callback_url=url)

    assert first.status_code == 202
    assert second.status_code == 400
    assert second.json()["errorCode"] == "duplicateRequest"
    receiver.wait_for(lambda got: len(got) == 1, path_prefix="/gsma/dup")
    ledger = client.get("/_admin/ledger", params={"reference": "PMT25Q1-000002"}).json()
    assert ledger["count"] == 1
    assert ledger["references"]["PMT25Q1-000002"]["times_paid"] == 1


def test_a_configured_failure_is_put_as_an_error_object(
    client: httpx.Client, receiver: CallbackReceiver, callback_base: str
) -> None:
    client.put(
        "/_admin/behaviour", json={"gsma": {"processing_ms": 5, "failures": {"RECIPIENT_NOT_FOUND": 1.0}}}
    )

    disburse(client, "PMT25Q1-000003", callback_url=f"{callback_base}/gsma/fail")

    [callback] = receiver.wait_for(lambda got: len(got) == 1, path_prefix="/gsma/fail")
    error = callback.json()
    assert error["errorCategory"] == "identification"
    assert error["errorCode"] == "identifierError"
    assert error["errorParameters"] == [{"key": "creditParty.msisdn", "value": "+22376123401"}]
    assert "transactionStatus" not in error


def test_without_a_callback_url_the_result_is_found_by_polling(client: httpx.Client) -> None:
    correlation_id = str(uuid.uuid4())
    state = disburse(client, "PMT25Q1-000004", correlation_id=correlation_id).json()
    assert state["notificationMethod"] == "polling"

    link = client.get(f"/gsma/responses/{correlation_id}").json()["link"]
    assert link == f"/transactions/{state['objectReference']}"
    _wait_until_completed(client, state["serverCorrelationId"])
    transaction = client.get(f"/gsma{link}").json()
    assert transaction["transactionStatus"] == "completed"


def test_an_amount_with_decimals_is_refused_as_a_format_error(client: httpx.Client) -> None:
    answer = disburse(client, "PMT25Q1-000005", amount="30000.00")

    assert answer.status_code == 400
    assert answer.json()["errorCategory"] == "validation"
    assert client.get("/_admin/ledger/summary").json()["payments"] == 0


def test_a_batch_is_processed_and_called_back_with_its_counts(
    client: httpx.Client, receiver: CallbackReceiver, callback_base: str
) -> None:
    client.put(
        "/_admin/behaviour", json={"gsma": {"processing_ms": 5, "failures": {"RECIPIENT_BLOCKED": 0.3}}}
    )
    transactions = [_transaction(f"PMT25Q1-B{n:05d}") for n in range(200)]
    transactions.append(
        {"amount": "abc", "currency": "XOF", "creditParty": [{"key": "msisdn", "value": "+1"}]}
    )
    headers = {"X-CorrelationID": str(uuid.uuid4()), "X-Callback-URL": f"{callback_base}/gsma/batch"}

    state = client.post(
        "/gsma/batchtransactions", headers=headers, json={"transactions": transactions}
    ).json()

    [callback] = receiver.wait_for(lambda got: len(got) == 1, path_prefix="/gsma/batch")
    batch = callback.json()
    assert batch["batchId"] == state["objectReference"]
    assert batch["batchStatus"] == "completed"
    assert batch["parsingSuccessCount"] == 200
    assert batch["completedCount"] + batch["rejectionCount"] == 201
    assert 0 < batch["completedCount"] < 200
    completions = client.get(f"/gsma/batchtransactions/{batch['batchId']}/completions", params={"limit": 500})
    rejections = client.get(f"/gsma/batchtransactions/{batch['batchId']}/rejections", params={"limit": 500})
    assert int(completions.headers["X-Records-Available-Count"]) == batch["completedCount"]
    assert len(rejections.json()) == batch["rejectionCount"]
    summary = client.get("/_admin/ledger/summary").json()
    assert summary["by_dialect"]["gsma"]["succeeded"]["count"] == batch["completedCount"]


def test_batch_completions_are_paged_fifty_at_a_time_by_default(client: httpx.Client) -> None:
    transactions = [_transaction(f"PMT25Q1-P{n:05d}") for n in range(120)]
    state = client.post(
        "/gsma/batchtransactions",
        headers={"X-CorrelationID": str(uuid.uuid4())},
        json={"transactions": transactions},
    ).json()
    _wait_until_completed(client, state["serverCorrelationId"])

    page = client.get(
        f"/gsma/batchtransactions/{state['objectReference']}/completions", params={"offset": 100}
    )

    assert page.headers["X-Records-Available-Count"] == "120"
    assert page.headers["X-Records-Returned-Count"] == "20"
    assert "amount" not in page.json()[0]


def _wait_until_completed(client: httpx.Client, server_correlation_id: str) -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        state = client.get(f"/gsma/requeststates/{server_correlation_id}").json()
        if state["status"] != "pending":
            assert state["status"] == "completed"
            return
        time.sleep(0.01)
    raise AssertionError("the request stayed pending")
