"""The Wave payout dialect: idempotent creation, signed webhooks, failures and reversals."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from simulator import BackgroundServer, CallbackReceiver, ReceivedCallback, SimulatorConfig

AUTHORISED = {"Authorization": "Bearer wave_ml_prod_test"}


def pay_out(
    client: httpx.Client, reference: str, *, key: str | None = None, amount: str = "30000"
) -> httpx.Response:
    headers = AUTHORISED | {"idempotency-key": key or str(uuid.uuid4())}
    body = {
        "currency": "XOF",
        "receive_amount": amount,
        "mobile": "+22378345621",
        "name": "Ibrahim Cisse",
        "client_reference": reference,
        "payment_reason": "PFS 2025Q1",
    }
    return client.post("/wave/v1/payout", headers=headers, json=body)


def events_for(receiver: CallbackReceiver, payout_id: str, count: int) -> list[dict[str, Any]]:
    def mine(got: list[ReceivedCallback]) -> list[dict[str, Any]]:
        return [event for event in (c.json() for c in got) if event["data"]["id"] == payout_id]

    return mine(receiver.wait_for(lambda got: len(mine(got)) >= count, path_prefix="/wave"))


def verifies(callback: ReceivedCallback, secret: str, separator: bytes = b"") -> bool:
    fields = dict(part.split("=", 1) for part in callback.headers["wave-signature"].split(","))
    expected = hmac.new(secret.encode(), fields["t"].encode() + separator + callback.body, hashlib.sha256)
    return hmac.compare_digest(expected.hexdigest(), fields["v1"])


def test_a_payout_is_answered_processing_then_webhooked_as_succeeded(
    client: httpx.Client, receiver: CallbackReceiver
) -> None:
    payout = pay_out(client, "PMT25Q1-000021").json()

    assert payout["status"] == "processing"
    assert payout["id"].startswith("pt-")
    assert payout["fee"] == "300"
    [event] = events_for(receiver, payout["id"], 1)
    assert event["type"] == "payout.succeeded"
    assert event["data"] | {"status": "processing"} == payout
    assert client.get(f"/wave/v1/payout/{payout['id']}", headers=AUTHORISED).json()["status"] == "succeeded"


def test_the_webhook_signature_is_the_hmac_of_the_timestamp_and_the_raw_body(
    client: httpx.Client, receiver: CallbackReceiver, wave_secret: str
) -> None:
    payout = pay_out(client, "PMT25Q1-000022").json()
    events_for(receiver, payout["id"], 1)

    [callback] = receiver.received("/wave")
    assert verifies(callback, wave_secret)
    assert not verifies(callback, "another-secret")


def test_the_same_idempotency_key_returns_the_same_payout_and_pays_once(client: httpx.Client) -> None:
    key = str(uuid.uuid4())
    first = pay_out(client, "PMT25Q1-000023", key=key)
    second = pay_out(client, "PMT25Q1-000023", key=key)

    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    ledger = client.get("/_admin/ledger", params={"reference": "PMT25Q1-000023"}).json()
    assert ledger["count"] == 1


def test_the_same_idempotency_key_with_another_body_is_refused(client: httpx.Client) -> None:
    key = str(uuid.uuid4())
    pay_out(client, "PMT25Q1-000024", key=key)

    answer = pay_out(client, "PMT25Q1-000024", key=key, amount="35000")

    assert answer.status_code == 409
    assert client.get("/_admin/ledger", params={"reference": "PMT25Q1-000024"}).json()["count"] == 1


def test_a_failed_payout_carries_its_payout_error(client: httpx.Client, receiver: CallbackReceiver) -> None:
    client.put("/_admin/behaviour", json={"wave": {"processing_ms": 5, "failures": {"NAME_MISMATCH": 1.0}}})

    payout = pay_out(client, "PMT25Q1-000025").json()

    [event] = events_for(receiver, payout["id"], 1)
    assert event["type"] == "payout.failed"
    assert event["data"]["payout_error"]["error_code"] == "name-mismatch"


def test_a_succeeded_payout_reversed_on_request_is_webhooked_as_reversed(
    client: httpx.Client, receiver: CallbackReceiver
) -> None:
    payout = pay_out(client, "PMT25Q1-000026").json()
    events_for(receiver, payout["id"], 1)

    reversed_payout = client.post(f"/wave/v1/payout/{payout['id']}/reverse", headers=AUTHORISED)

    assert reversed_payout.json()["status"] == "reversed"
    events = events_for(receiver, payout["id"], 2)
    assert [event["type"] for event in events] == ["payout.succeeded", "payout.reversed"]
    ledger = client.get("/_admin/ledger", params={"reference": "PMT25Q1-000026"}).json()
    assert ledger["payments"][0]["status"] == "reversed"
    assert ledger["references"]["PMT25Q1-000026"]["amount_returned"] == 30000


def test_a_payout_without_authorisation_is_refused(client: httpx.Client) -> None:
    answer = client.post("/wave/v1/payout", json={})

    assert answer.status_code == 401
    assert answer.json()["code"] == "missing-auth-header"


def test_with_immediate_processing_the_payout_is_answered_final_and_may_sign_with_a_dot(
    receiver: CallbackReceiver, make_config: Callable[..., SimulatorConfig], wave_secret: str
) -> None:
    config = make_config(behaviour={"wave": {"processing_ms": 0}}, wave={"signature_separator": "."})
    receiver.clear()
    with BackgroundServer.simulator(config) as server, httpx.Client(base_url=server.base_url) as other:
        payout = pay_out(other, "PMT25Q1-000027").json()
        [event] = events_for(receiver, payout["id"], 1)

    assert payout["status"] == "succeeded"
    [callback] = receiver.received("/wave")
    assert event["type"] == "payout.succeeded"
    assert verifies(callback, wave_secret, separator=b".")


def test_the_ledger_finds_a_payout_by_its_provider_reference(client: httpx.Client) -> None:
    payout = pay_out(client, "PMT25Q1-000028").json()

    ledger = client.get("/_admin/ledger", params={"provider_reference": payout["id"]}).json()

    assert [p["our_reference"] for p in ledger["payments"]] == ["PMT25Q1-000028"]
