"""Adapters against a mock provider: every kind of answer maps to SUBMITTED, REJECTED or UNKNOWN, never raises."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from uuid import UUID

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from payments.domain.payments import Authenticity, FailureCode, PaymentState
from payments.providers import gsma, mtn, wave
from payments.providers.events import Instruction
from payments.providers.orange_bulk import parse_bulk_report

Answer = Callable[[httpx.Request], httpx.Response]
Client = gsma.GsmaMmapiClient | mtn.MtnMomoClient | wave.WavePayoutClient

NOW = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
KEY = UUID("8d2f0c6e-5b1a-4c3e-9f7d-2a1b3c4d5e6f")
INSTRUCTION = Instruction(
    reference="J26Q1-000041",
    provider_request_key=KEY,
    amount=30_000,
    payee_msisdn="+22376550041",
    payee_name="Nana Coulibaly",
    description="Jigisemejiri l'appui 2026-Q1",
    callback_url="https://filet.example/v1/callbacks/mtn-momo/8d2f0c6e",
)
S = PaymentState


def html(status: int) -> Answer:
    return lambda request: httpx.Response(status, html="<html><body><h1>502 Bad Gateway</h1></body></html>")


def reply(status: int, body: object = None) -> Answer:
    return lambda request: httpx.Response(status, json=body) if body is not None else httpx.Response(status)


def read_timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out reading the answer", request=request)


def connection_refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def gsma_client(answer: Answer) -> gsma.GsmaMmapiClient:
    return gsma.GsmaMmapiClient(
        httpx.Client(transport=httpx.MockTransport(answer)),
        base_url="http://127.0.0.1:8009/gsma/v1.2/passthrough/mm/",
        api_key="key",
        client_id="FILET",
        organisation_id="FILET-ML",
        debit_wallet="FILET-DISB-01",
        clock=lambda: NOW,
    )


def mtn_client(answer: Answer) -> mtn.MtnMomoClient:
    def provider(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/mtn/disbursement/token/":
            return httpx.Response(
                200, json={"access_token": "tok", "token_type": "access_token", "expires_in": 3600}
            )
        return answer(request)

    return mtn.MtnMomoClient(
        httpx.Client(transport=httpx.MockTransport(provider)),
        base_url="http://127.0.0.1:8009/mtn",
        api_user="user",
        api_key="secret",
        subscription_key="sub",
        target_environment="sandbox",
        clock=lambda: NOW,
    )


def wave_client(answer: Answer) -> wave.WavePayoutClient:
    return wave.WavePayoutClient(
        httpx.Client(transport=httpx.MockTransport(answer)),
        base_url="http://127.0.0.1:8009/wave",
        api_key="wave_ml_test",
        clock=lambda: NOW,
    )


def gsma_error(category: str, code: str) -> dict[str, str]:
    return {"errorCategory": category, "errorCode": code, "errorDescription": f"{code} happened"}


PAYOUT = {
    "id": "pt-abc",
    "currency": "XOF",
    "receive_amount": "30000",
    "fee": "300",
    "mobile": "+22376550041",
    "client_reference": "J26Q1-000041",
    "status": "processing",
    "timestamp": "2026-01-15T09:00:01Z",
}
TRANSACTION = {
    "transactionReference": "MMP-1",
    "requestingOrganisationTransactionReference": "J26Q1-000041",
    "transactionStatus": "completed",
    "amount": "30000",
    "currency": "XOF",
}

SEND_CASES: list[tuple[str, Callable[[Answer], Client], Answer, PaymentState, FailureCode | None]] = [
    ("gsma 202 pending", gsma_client, reply(202, {"serverCorrelationId": "sc-1", "status": "pending"}), S.SUBMITTED, None),
    ("gsma 400 formatError", gsma_client, reply(400, gsma_error("validation", "formatError")), S.REJECTED, FailureCode.INVALID_REQUEST),
    ("gsma 400 identifierError", gsma_client, reply(400, gsma_error("identification", "identifierError")), S.REJECTED, FailureCode.RECIPIENT_NOT_FOUND),
    ("gsma 429 rateLimitError", gsma_client, reply(429, gsma_error("serviceUnavailable", "rateLimitError")), S.UNKNOWN, FailureCode.PROVIDER_UNAVAILABLE),
    ("gsma 401", gsma_client, reply(401, gsma_error("authorisation", "clientAuthorisationError")), S.REJECTED, FailureCode.AUTH_CONFIG),
    ("gsma 503", gsma_client, reply(503, gsma_error("serviceUnavailable", "genericError")), S.UNKNOWN, FailureCode.PROVIDER_UNAVAILABLE),
    ("gsma 500 html", gsma_client, html(500), S.UNKNOWN, FailureCode.PROVIDER_UNAVAILABLE),
    ("gsma 202 html", gsma_client, html(202), S.UNKNOWN, FailureCode.PROVIDER_UNAVAILABLE),
    ("gsma 400 not an error object", gsma_client, reply(400, {"message": "bad"}), S.UNKNOWN, FailureCode.PROVIDER_UNAVAILABLE),
    ("gsma timeout", gsma_client, read_timeout, S.UNKNOWN, FailureCode.TIMEOUT),
    ("gsma refused", gsma_client, connection_refused, S.UNKNOWN, FailureCode.PROVIDER_UNAVAILABLE),
    ("mtn 202", mtn_client, reply(202), S.SUBMITTED, None),
    ("mtn 400", mtn_client, reply(400), S.REJECTED, FailureCode.INVALID_REQUEST),
    ("mtn 400 currency", mtn_client, reply(400, {"code": "INVALID_CURRENCY", "message": "Currency not supported."}), S.REJECTED, FailureCode.INVALID_REQUEST),
    ("mtn 403", mtn_client, reply(403), S.REJECTED, FailureCode.AUTH_CONFIG),
    ("mtn 500", mtn_client, reply(500, {"code": "INTERNAL_PROCESSING_ERROR", "message": "An internal error"}), S.UNKNOWN, FailureCode.PROVIDER_UNAVAILABLE),
    ("mtn 503 html", mtn_client, html(503), S.UNKNOWN, FailureCode.PROVIDER_UNAVAILABLE),
    ("mtn 202 html", mtn_client, html(202), S.UNKNOWN, FailureCode.PROVIDER_UNAVAILABLE),
    ("mtn timeout", mtn_client, read_timeout, S.UNKNOWN, FailureCode.TIMEOUT),
    ("wave 200 processing", wave_client, reply(200, PAYOUT), S.SUBMITTED, None),
    ("wave 400 validation", wave_client, reply(400, {"code": "request-validation-error", "message": "bad mobile"}), S.REJECTED, FailureCode.INVALID_REQUEST),
    ("wave 401", wave_client, reply(401, {"code": "invalid-auth", "message": "no"}), S.REJECTED, FailureCode.AUTH_CONFIG),
    ("wave 409", wave_client, reply(409, {"code": "idempotency-mismatch", "message": "key reused"}), S.UNKNOWN, FailureCode.DUPLICATE),
    ("wave 502 html", wave_client, html(502), S.UNKNOWN, FailureCode.PROVIDER_UNAVAILABLE),
    ("wave 200 html", wave_client, html(200), S.UNKNOWN, FailureCode.PROVIDER_UNAVAILABLE),
    ("wave timeout", wave_client, read_timeout, S.UNKNOWN, FailureCode.TIMEOUT),
]  # fmt: skip


@pytest.mark.parametrize(
    ("make_client", "answer", "status", "code"),
    [pytest.param(*case[1:], id=case[0]) for case in SEND_CASES],
)
def test_every_answer_to_a_send_maps_to_submitted_rejected_or_in_doubt(
    make_client: Callable[[Answer], Client], answer: Answer, status: PaymentState, code: FailureCode | None
) -> None:
    result = make_client(answer).send(INSTRUCTION)

    assert (result.status, result.failure_code) == (status, code)


def test_a_rejection_is_only_ever_a_code_that_proves_no_money_moved() -> None:
    for _, make_client, answer, _, _ in SEND_CASES:
        result = make_client(answer).send(INSTRUCTION)
        if result.status is S.REJECTED:
            assert result.failure_code is not None
            assert result.failure_code.definitive


def test_gsma_sends_the_amount_as_a_whole_number_string_with_our_key_and_reference() -> None:
    seen: list[httpx.Request] = []

    def provider(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, json={"serverCorrelationId": "sc-1", "status": "pending"})

    result = gsma_client(provider).send(INSTRUCTION)

    body = json.loads(seen[0].content)
    assert seen[0].url == "http://127.0.0.1:8009/gsma/v1.2/passthrough/mm/transactions/type/disbursement"
    assert (body["amount"], body["currency"], body["requestingOrganisationTransactionReference"]) == (
        "30000",
        "XOF",
        "J26Q1-000041",
    )
    assert body["creditParty"] == [{"key": "msisdn", "value": "+22376550041"}]
    assert seen[0].headers["X-CorrelationID"] == str(KEY)
    assert seen[0].headers["X-Callback-URL"] == INSTRUCTION.callback_url
    assert result.request_state_ref == "sc-1"


def test_gsma_duplicate_request_looks_up_the_existing_transaction() -> None:
    def provider(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(400, json=gsma_error("businessRule", "duplicateRequest"))
        if request.url.path.endswith(f"/responses/{KEY}"):
            return httpx.Response(200, json={"link": "/transactions/MMP-1"})
        assert request.url.path.endswith("/transactions/MMP-1")
        return httpx.Response(200, json=TRANSACTION)

    result = gsma_client(provider).send(INSTRUCTION)

    assert (result.status, result.failure_code) == (S.SUBMITTED, FailureCode.DUPLICATE)
    assert result.event is not None
    assert (result.event.status, result.event.provider_tx_ref) == (S.SUCCEEDED, "MMP-1")
    assert result.event.authenticity is Authenticity.VERIFIED_BY_QUERY


def test_gsma_synchronous_completion_is_submitted_with_the_transaction_as_evidence() -> None:
    result = gsma_client(reply(201, TRANSACTION)).send(INSTRUCTION)

    assert result.status is S.SUBMITTED
    assert result.event is not None
    assert result.event.status is S.SUCCEEDED


def test_gsma_query_follows_a_completed_request_state_to_its_transaction() -> None:
    def provider(request: httpx.Request) -> httpx.Response:
        if "/requeststates/" in request.url.path:
            return httpx.Response(
                200, json={"serverCorrelationId": "sc-1", "status": "completed", "objectReference": "MMP-1"}
            )
        return httpx.Response(200, json=TRANSACTION)

    event = gsma_client(provider).query(replace(INSTRUCTION, request_state_ref="sc-1"))

    assert event is not None
    assert (event.status, event.amount, event.instruction_id) == (S.SUCCEEDED, 30_000, "J26Q1-000041")


@pytest.mark.parametrize("answer", [html(200), reply(404), read_timeout, reply(200, ["not", "an", "object"])])
def test_a_query_without_a_usable_answer_says_nothing(answer: Answer) -> None:
    with_ref = replace(INSTRUCTION, provider_tx_ref="MMP-1")

    assert gsma_client(answer).query(with_ref) is None
    assert mtn_client(answer).query(with_ref) is None
    assert wave_client(answer).query(with_ref) is None


def test_mtn_sends_our_key_as_x_reference_id_digits_only_and_no_apostrophes() -> None:
    seen: list[httpx.Request] = []

    def provider(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202)

    mtn_client(provider).send(INSTRUCTION)

    body = json.loads(seen[0].content)
    assert seen[0].headers["X-Reference-Id"] == str(KEY)
    assert seen[0].headers["Authorization"] == "Bearer tok"
    assert seen[0].headers["X-Callback-Url"] == INSTRUCTION.callback_url
    assert body["payee"] == {"partyIdType": "MSISDN", "partyId": "22376550041"}
    assert (body["amount"], body["externalId"]) == ("30000", "J26Q1-000041")
    assert "'" not in body["payeeNote"]


def test_mtn_409_means_look_up_the_existing_transfer_not_rejected() -> None:
    def provider(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(
                409, json={"code": "RESOURCE_ALREADY_EXIST", "message": "Duplicated reference id"}
            )
        assert request.url.path == f"/mtn/disbursement/v1_0/transfer/{KEY}"
        return httpx.Response(
            200,
            json={
                "financialTransactionId": "207",
                "externalId": "J26Q1-000041",
                "amount": "30000",
                "status": "SUCCESSFUL",
            },
        )

    result = mtn_client(provider).send(INSTRUCTION)

    assert (result.status, result.failure_code) == (S.SUBMITTED, FailureCode.DUPLICATE)
    assert result.event is not None
    assert (result.event.status, result.event.provider_tx_ref) == (S.SUCCEEDED, "207")


def test_mtn_refreshes_an_expired_token_once_before_giving_up() -> None:
    answers = iter([httpx.Response(401), httpx.Response(202)])
    assert mtn_client(lambda request: next(answers)).send(INSTRUCTION).status is S.SUBMITTED

    assert mtn_client(reply(401)).send(INSTRUCTION).status is S.REJECTED


def test_mtn_without_a_token_is_in_doubt_when_the_token_call_times_out() -> None:
    client = mtn.MtnMomoClient(
        httpx.Client(transport=httpx.MockTransport(read_timeout)),
        base_url="http://127.0.0.1:8009/mtn",
        api_user="user",
        api_key="secret",
        subscription_key="sub",
        target_environment="sandbox",
    )

    assert client.send(INSTRUCTION).status is S.UNKNOWN


def test_mtn_reads_a_failure_reason_given_as_a_bare_string() -> None:
    body = {"externalId": "J26Q1-000041", "amount": "30000", "status": "FAILED", "reason": "NOT_ENOUGH_FUNDS"}

    event = mtn_client(reply(200, body)).query(INSTRUCTION)

    assert event is not None
    assert (event.status, event.failure_code, event.raw_code) == (
        S.FAILED,
        FailureCode.INSUFFICIENT_FUNDS,
        "NOT_ENOUGH_FUNDS",
    )


def test_wave_sends_our_key_as_idempotency_key_and_answers_with_the_payout() -> None:
    seen: list[httpx.Request] = []

    def provider(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=PAYOUT)

    result = wave_client(provider).send(INSTRUCTION)

    body = json.loads(seen[0].content)
    assert seen[0].headers["idempotency-key"] == str(KEY)
    assert (body["receive_amount"], body["mobile"], body["client_reference"]) == (
        "30000",
        "+22376550041",
        "J26Q1-000041",
    )
    assert result.provider_tx_ref == "pt-abc"
    assert result.event is not None
    assert result.event.status is S.PENDING


def test_wave_query_needs_the_payout_id() -> None:
    client = wave_client(reply(200, {**PAYOUT, "status": "succeeded"}))

    assert client.query(INSTRUCTION) is None
    event = client.query(replace(INSTRUCTION, provider_tx_ref="pt-abc"))
    assert event is not None
    assert (event.status, event.fee) == (S.SUCCEEDED, 300)


FIELDS = [
    "transactionStatus", "transactionReference", "requestingOrganisationTransactionReference", "errorCode",
    "errorCategory", "errorDateTime", "modificationDate", "amount", "currency", "fees", "feeAmount", "creditParty",
    "key", "value", "status", "reason", "code", "message", "payee", "partyId", "externalId",
    "financialTransactionId", "id", "type", "data", "receive_amount", "fee", "payout_error", "error_code",
    "timestamp", "client_reference", "mobile",
]  # fmt: skip
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(FIELDS), inner, max_size=6),
    max_leaves=20,
)
bodies = st.one_of(st.binary(max_size=200), json_values.map(lambda value: json.dumps(value).encode()))


@settings(max_examples=150, deadline=None)
@given(
    bodies, st.dictionaries(st.sampled_from(["X-CorrelationID", "X-Content-Hash", "Content-Type"]), st.text())
)
def test_no_callback_parser_raises_on_garbage(raw: bytes, headers: dict[str, str]) -> None:
    for parse in (gsma.parse_callback, mtn.parse_callback):
        parse(headers, raw, {"reference": "J26Q1-000041", "reference_id": str(KEY)}, received_at=NOW)
    signed_at = str(int(NOW.timestamp()))
    digest = hmac.new(b"s", signed_at.encode() + raw, hashlib.sha256).hexdigest()
    wave_headers = {"Wave-Signature": f"t={signed_at},v1={digest}"}
    wave.parse_callback(wave_headers, raw, {}, received_at=NOW, secrets=["s"])
    parse_bulk_report(raw, received_at=NOW)


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=100, max_value=599), bodies)
def test_no_send_raises_whatever_the_provider_answers(status: int, raw: bytes) -> None:
    answer: Answer = lambda request: httpx.Response(status, content=raw)  # noqa: E731
    for make_client in (gsma_client, mtn_client, wave_client):
        result = make_client(answer).send(INSTRUCTION)
        assert result.status in {S.SUBMITTED, S.REJECTED, S.UNKNOWN}


def test_gsma_batch_results_read_completions_as_succeeded_and_rejections_as_failed() -> None:
    completion = {
        "transactionReference": "MMP-7",
        "requestingOrganisationTransactionReference": "J26Q1-000041",
    }
    rejection = {
        "requestingOrganisationTransactionReference": "J26Q1-000042",
        "rejectionReason": "msisdn unknown",
    }

    def provider(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            body = {"serverCorrelationId": "sc-9", "status": "pending", "objectReference": "BATCH-1"}
            return httpx.Response(202, json=body)
        first_page = request.url.params["offset"] == "0"
        items = completion if request.url.path.endswith("/completions") else rejection
        return httpx.Response(200, json=[items] if first_page else [])

    client = gsma_client(provider)
    sent = client.send_batch([INSTRUCTION], batch_key=KEY, title="Jigisemejiri 2026-Q1")
    results = client.batch_results("BATCH-1")

    assert (sent.status, sent.provider_tx_ref) == (S.SUBMITTED, "BATCH-1")
    assert results is not None
    assert [(event.instruction_id, event.status) for event in results] == [
        ("J26Q1-000041", S.SUCCEEDED),
        ("J26Q1-000042", S.FAILED),
    ]
    assert results[1].raw_message == "msisdn unknown"


@pytest.mark.parametrize("counts_header", [True, False])
def test_gsma_batch_results_read_every_page_when_the_server_caps_the_page_size(counts_header: bool) -> None:
    completions = [
        {"transactionReference": f"MMP-{n}", "requestingOrganisationTransactionReference": f"J26Q1-{n:06d}"}
        for n in range(1, 8)
    ]
    asked: list[tuple[str, str]] = []

    def provider(request: httpx.Request) -> httpx.Response:
        offset, limit = int(request.url.params["offset"]), int(request.url.params["limit"])
        asked.append((request.url.path.rsplit("/", 1)[-1], str(offset)))
        items = completions if request.url.path.endswith("/completions") else []
        page = items[offset : offset + min(limit, 3)]  # this server never returns more than 3
        headers = {"X-Records-Available-Count": str(len(items))} if counts_header else {}
        return httpx.Response(200, json=page, headers=headers)

    results = gsma_client(provider).batch_results("BATCH-1")

    assert results is not None
    assert [event.instruction_id for event in results] == [f"J26Q1-{n:06d}" for n in range(1, 8)]
    completion_pages = [offset for path, offset in asked if path == "completions"]
    assert completion_pages == (["0", "3", "6"] if counts_header else ["0", "3", "6", "7"])
