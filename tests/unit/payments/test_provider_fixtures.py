"""Every provider fixture (../shared/fixtures/callbacks) is spoken or understood by its adapter as `expected` says.

The fixtures live outside the repository; set FILET_FIXTURES_DIR to point elsewhere.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest

from payments.domain.payments import Authenticity, OutcomeKind, Payment, PaymentState
from payments.providers import gsma, mtn, wave
from payments.providers.events import DiscardedCallback, Instruction, ProviderEvent
from shared.money import xof

FIXTURES = Path(__file__).parents[2] / "fixtures"
RECEIVED_AT = datetime(2025, 3, 14, 9, 0, 9, tzinfo=UTC)
TEST_WAVE_SECRET = "wave-test-secret-for-fixtures"
ADAPTERS = {"gsma_mmapi": gsma, "mtn_momo": mtn, "wave_style": wave}
CORRELATING_HEADERS = {
    "x-correlationid",
    "x-callback-url",
    "x-reference-id",
    "x-target-environment",
    "x-date",
}
SENT_FIELDS = (
    "amount",
    "currency",
    "externalId",
    "payee",
    "creditParty",
    "debitParty",
    "requestingOrganisationTransactionReference",
)


def fixture_files(*, callbacks: bool) -> list[Any]:
    """Callback fixtures (they hold `raw_body`), or outbound ones (a request and the provider's answer)."""
    files = [
        path
        for path in sorted((FIXTURES / "callbacks").glob("*/*.json"))
        if path.parent.name in ADAPTERS  # M-Pesa (Daraja) is a reference shape only: no adapter is built
        and ("raw_body" in json.loads(path.read_text(encoding="utf-8"))) == callbacks
    ]
    assert files, f"no fixtures under {FIXTURES}"
    return [pytest.param(path, id=path.stem) for path in files]


def load(path: Path | None) -> dict[str, Any]:
    assert path is not None
    fixture: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return fixture


def instructions() -> dict[str, dict[str, str]]:
    with (FIXTURES / "instructions.csv").open(encoding="utf-8") as rows:
        return {row["instruction_id"]: row for row in csv.DictReader(rows)}


def submitted(reference: str) -> Payment:
    payment = Payment(instruction_id=reference, amount=xof(int(instructions()[reference]["amount"])))
    payment = payment.approve().payment.start_submission().payment
    return payment.record_send_result(PaymentState.SUBMITTED).payment


def state_after(event: ProviderEvent, payment: Payment) -> PaymentState:
    """Apply the event; an unsigned final status first waits for, then gets, the status query's confirmation."""
    outcome = payment.apply(event)
    if outcome.kind is OutcomeKind.UNCONFIRMED:
        assert event.authenticity is Authenticity.UNAUTHENTICATED
        outcome = payment.apply(replace(event, authenticity=Authenticity.VERIFIED_BY_QUERY))
    assert outcome.kind is OutcomeKind.TRANSITIONED
    return outcome.state


def resigned_headers(fixture: dict[str, Any]) -> dict[str, str]:
    """The fixture's headers with its Wave-Signature re-made with our test secret at the same `t`.

    The fixtures' own secret is not published (their README names `WAVE_SECRET` without a value).
    """
    headers = dict(fixture["request"]["headers"])
    signed_at = headers["Wave-Signature"].split(",")[0].removeprefix("t=")
    digest = hmac.new(
        TEST_WAVE_SECRET.encode(), signed_at.encode() + fixture["raw_body"].encode(), hashlib.sha256
    ).hexdigest()
    headers["Wave-Signature"] = f"t={signed_at},v1={digest}"
    return headers


def parse(fixture: dict[str, Any], dialect: str) -> ProviderEvent | DiscardedCallback:
    url = fixture["request"]["url"]
    raw_body = fixture["raw_body"].encode()
    if dialect == "wave_style":
        verify_at = datetime.fromtimestamp(fixture["verification"]["verify_at_unix"], UTC)
        return wave.parse_callback(
            resigned_headers(fixture), raw_body, {}, received_at=verify_at, secrets=[TEST_WAVE_SECRET]
        )
    if dialect == "mtn_momo":
        path_params = {mtn.REFERENCE_ID_PARAM: url.rsplit("/", 1)[1]}
        return mtn.parse_callback(
            fixture["request"]["headers"], raw_body, path_params, received_at=RECEIVED_AT
        )
    path_params = {gsma.REFERENCE_PARAM: url.rsplit("/", 1)[1]}
    return gsma.parse_callback(fixture["request"]["headers"], raw_body, path_params, received_at=RECEIVED_AT)


@pytest.mark.parametrize("path", fixture_files(callbacks=True))
def test_every_callback_fixture_normalises_to_its_expected_outcome(path: Path | None) -> None:
    fixture = load(path)
    dialect = fixture_dialect(path)
    expected = fixture["expected"]

    event = parse(fixture, dialect)

    assert isinstance(event, ProviderEvent), event
    assert expected["http_response"] == ADAPTERS[dialect].CALLBACK_ACK_STATUS
    assert event.raw_status
    [(reference, state)] = expected["instruction_state_after"].items()
    assert event.instruction_id == reference
    assert state_after(event, submitted(reference)) == PaymentState(state)
    if "provider_tx_ref" in expected:
        assert event.provider_tx_ref == expected["provider_tx_ref"]
    if "fee" in expected:
        assert event.fee == expected["fee"]
    if "canonical_failure_code" in expected:
        assert event.failure_code is not None
        assert (event.failure_code.value, event.failure_code.retryable) == (
            expected["canonical_failure_code"],
            expected["retryable"],
        )
    if expected.get("signature_valid"):
        assert event.authenticity is Authenticity.SIGNATURE_VALID
    if expected.get("content_hash_valid"):
        assert "X-Content-Hash" in fixture["request"]["headers"]  # checked by parse_callback, else discarded


def fixture_dialect(path: Path | None) -> str:
    assert path is not None
    return path.parent.name


@pytest.mark.parametrize("path", fixture_files(callbacks=False))
def test_every_outbound_fixture_is_sent_or_polled_as_the_provider_expects(path: Path | None) -> None:
    fixture = load(path)
    dialect = fixture_dialect(path)
    request, answer = fixture["request"], fixture["response"]
    [(reference, state)] = fixture["expected"]["instruction_state_after"].items()
    seen: list[httpx.Request] = []

    def provider(sent: httpx.Request) -> httpx.Response:
        if sent.url.path.endswith("/token/"):
            return httpx.Response(
                200, json={"access_token": "t0k", "token_type": "access_token", "expires_in": 3600}
            )
        seen.append(sent)
        return (
            httpx.Response(answer["status"], json=answer["body"]) if answer["body"] else httpx.Response(202)
        )

    client = client_for(dialect, request["url"], httpx.Client(transport=httpx.MockTransport(provider)))
    instruction = instruction_for(fixture, reference)

    if request["method"] == "GET":
        polled = client.query(replace(instruction, request_state_ref=request["url"].rsplit("/", 1)[1]))
        assert polled is not None
        assert state_after(polled, submitted(reference)) == PaymentState(state)
        assert seen[0].url == httpx.URL(request["url"])
        return
    result = client.send(instruction)

    assert result.status is PaymentState(state)
    sent_body = json.loads(seen[0].content)
    for field in SENT_FIELDS:
        assert sent_body.get(field) == request["body"].get(field)
    for name, value in request["headers"].items():
        if name.lower() in CORRELATING_HEADERS:
            assert seen[0].headers[name] == value
    assert seen[0].url == httpx.URL(request["url"])


def client_for(dialect: str, url: str, http: httpx.Client) -> gsma.GsmaMmapiClient | mtn.MtnMomoClient:
    if dialect == "mtn_momo":
        base_url = url.split("/disbursement/")[0]
        return mtn.MtnMomoClient(
            http,
            base_url=base_url,
            api_user="user",
            api_key="key",
            subscription_key="sub",
            target_environment="sandbox",
        )
    base_url = url.split("/transactions/")[0].split("/requeststates/")[0]
    return gsma.GsmaMmapiClient(
        http,
        base_url=base_url,
        api_key="<api-key>",
        client_id="PFS-ML",
        organisation_id="PFS-ML",
        debit_wallet="PFS-ML-DISB-0001",
        clock=lambda: datetime(2025, 3, 14, 9, 0, tzinfo=UTC),
    )


def instruction_for(fixture: dict[str, Any], reference: str) -> Instruction:
    """The instruction of the fixture, as instructions.csv describes it, with the key the fixture shows."""
    request = fixture["request"]
    headers = request["headers"]
    key = headers.get("X-CorrelationID") or headers.get("X-Reference-Id") or request["url"].rsplit("/", 1)[1]
    row = instructions()[reference]
    return Instruction(
        reference=reference,
        provider_request_key=UUID(key),
        amount=int(row["amount"]),
        payee_msisdn=row["msisdn"],
        description=request.get("body", {}).get("descriptionText", ""),
        callback_url=headers.get("X-Callback-URL") or headers.get("X-Callback-Url"),
    )


def test_a_gsma_callback_whose_body_was_tampered_with_is_discarded() -> None:
    fixture = json.loads((FIXTURES / "callbacks/gsma_mmapi/g01_transaction_completed.json").read_text())
    tampered = fixture["raw_body"].replace('"amount":"30000"', '"amount":"300000"').encode()

    discarded = gsma.parse_callback(fixture["request"]["headers"], tampered, {}, received_at=RECEIVED_AT)

    assert isinstance(discarded, DiscardedCallback)
    assert discarded.http_status == 400
