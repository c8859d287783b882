"""The MTN MoMo disbursement dialect: token, transfer, 409 on a reused reference, status, callbacks."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable

import httpx
import pytest

from simulator import BackgroundServer, CallbackReceiver, SimulatorConfig


def token(client: httpx.Client) -> str:
    basic = base64.b64encode(b"api-user:api-key").decode()
    answer = client.post(
        "/mtn/disbursement/token/",
        headers={"Authorization": f"Basic {basic}", "Ocp-Apim-Subscription-Key": "key"},
    )
    assert answer.status_code == 200
    return str(answer.json()["access_token"])


def transfer(
    client: httpx.Client, reference_id: str, external_id: str, *, callback_url: str | None = None
) -> httpx.Response:
    headers = {
        "Authorization": f"Bearer {token(client)}",
        "Ocp-Apim-Subscription-Key": "key",
        "X-Target-Environment": "mtnmali",
        "X-Reference-Id": reference_id,
    }
    if callback_url:
        headers["X-Callback-Url"] = callback_url
    body = {
        "amount": "30000",
        "currency": "XOF",
        "externalId": external_id,
        "payee": {"partyIdType": "MSISDN", "partyId": "22377234511"},
        "payerMessage": "PFS 2025Q1",
        "payeeNote": "Transfert monetaire PFS",
    }
    return client.post("/mtn/disbursement/v1_0/transfer", headers=headers, json=body)


def status(client: httpx.Client, reference_id: str) -> httpx.Response:
    headers = {
        "Authorization": f"Bearer {token(client)}",
        "Ocp-Apim-Subscription-Key": "key",
        "X-Target-Environment": "mtnmali",
    }
    return client.get(f"/mtn/disbursement/v1_0/transfer/{reference_id}", headers=headers)


def test_a_token_is_issued_for_basic_credentials(client: httpx.Client) -> None:
    basic = base64.b64encode(b"user:key").decode()
    answer = client.post(
        "/mtn/disbursement/token/",
        headers={"Authorization": f"Basic {basic}", "Ocp-Apim-Subscription-Key": "k"},
    )

    assert answer.json()["token_type"] == "access_token"
    assert answer.json()["expires_in"] == 3600


def test_a_transfer_is_accepted_empty_and_called_back_with_its_get_representation(
    client: httpx.Client, receiver: CallbackReceiver, callback_base: str
) -> None:
    reference_id = str(uuid.uuid4())
    answer = transfer(
        client, reference_id, "PMT25Q1-000011", callback_url=f"{callback_base}/mtn/{reference_id}"
    )

    assert answer.status_code == 202
    assert answer.content == b""
    [callback] = receiver.wait_for(lambda got: len(got) == 1, path_prefix=f"/mtn/{reference_id}")
    assert callback.method == "PUT"
    assert callback.json() == status(client, reference_id).json()
    assert callback.json()["status"] == "SUCCESSFUL"
    assert callback.json()["externalId"] == "PMT25Q1-000011"
    assert reference_id not in callback.body.decode()


def test_reusing_a_reference_id_is_refused_with_409_and_never_pays_twice(client: httpx.Client) -> None:
    reference_id = str(uuid.uuid4())
    first = transfer(client, reference_id, "PMT25Q1-000012")
    second = transfer(client, reference_id, "PMT25Q1-000012")

    assert first.status_code == 202
    assert second.status_code == 409
    assert second.json()["code"] == "RESOURCE_ALREADY_EXIST"
    ledger = client.get("/_admin/ledger", params={"reference": "PMT25Q1-000012"}).json()
    assert ledger["count"] == 1
    assert ledger["references"]["PMT25Q1-000012"]["payments"] == 1


def test_a_failed_transfer_reads_failed_with_its_reason(
    client: httpx.Client, receiver: CallbackReceiver, callback_base: str
) -> None:
    client.put(
        "/_admin/behaviour", json={"mtn": {"processing_ms": 5, "failures": {"RECIPIENT_NOT_FOUND": 1.0}}}
    )
    reference_id = str(uuid.uuid4())
    transfer(client, reference_id, "PMT25Q1-000013", callback_url=f"{callback_base}/mtn/{reference_id}")

    [callback] = receiver.wait_for(lambda got: len(got) == 1, path_prefix=f"/mtn/{reference_id}")
    assert callback.json()["status"] == "FAILED"
    assert callback.json()["reason"] == {"code": "PAYEE_NOT_FOUND", "message": "Payee does not exist"}
    assert "financialTransactionId" not in callback.json()


def test_a_transfer_without_a_bearer_token_is_unauthorised(client: httpx.Client) -> None:
    answer = client.post(
        "/mtn/disbursement/v1_0/transfer",
        headers={"Ocp-Apim-Subscription-Key": "key", "X-Reference-Id": str(uuid.uuid4())},
        json={},
    )

    assert answer.status_code == 401


def test_a_reference_id_that_is_not_a_uuid4_is_a_bad_request(client: httpx.Client) -> None:
    answer = transfer(client, str(uuid.uuid1()), "PMT25Q1-000014")

    assert answer.status_code == 400


def test_an_unknown_reference_id_is_not_found(client: httpx.Client) -> None:
    answer = status(client, str(uuid.uuid4()))

    assert answer.status_code == 404
    assert answer.json()["code"] == "RESOURCE_NOT_FOUND"


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_callbacks_use_the_configured_method_and_may_carry_the_reason_as_a_string(
    method: str, callback_base: str, receiver: CallbackReceiver, make_config: Callable[..., SimulatorConfig]
) -> None:
    config = make_config(
        behaviour={"mtn": {"failures": {"RECIPIENT_BLOCKED": 1.0}}},
        mtn={"callback_method": method, "reason_as": "string"},
    )
    receiver.clear()
    with BackgroundServer.simulator(config) as server, httpx.Client(base_url=server.base_url) as other:
        reference_id = str(uuid.uuid4())
        transfer(other, reference_id, "PMT25Q1-000015", callback_url=f"{callback_base}/mtn/{reference_id}")
        [callback] = receiver.wait_for(lambda got: len(got) == 1, path_prefix=f"/mtn/{reference_id}")

    assert callback.method == method
    assert callback.json()["reason"] == "PAYEE_NOT_ALLOWED_TO_RECEIVE"
