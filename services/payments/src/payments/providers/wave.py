"""Wave payouts (PROVIDERS.md §3.3): send, query, verify webhook signatures, and normalise webhook events.

The attempt's key travels as `idempotency-key`; our reference as `client_reference`. Webhooks are signed:
`Wave-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]` with hex = HMAC-SHA256(secret, t + raw_body). Until Wave
confirms which, `t + "." + raw_body` is accepted too (§10). Several secrets may be valid while one is rotated.
Wave's payout error codes are not verified (§8.4 `*`); unknown ones are UNCLASSIFIED.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import quote

import httpx

from payments.domain.payments import Authenticity, FailureCode, PaymentState
from payments.providers.events import (
    DEFAULT_TIMEOUT,
    DiscardedCallback,
    Instruction,
    ProviderEvent,
    SendResult,
    header,
    json_object,
    object_of,
    text_of,
    timestamp,
    xof_amount,
)
from payments.providers.exchanges import Call, Exchange, run
from payments.providers.transport import Http

PROVIDER = "wave"
CALLBACK_ACK_STATUS = 200
SIGNATURE_HEADER = "Wave-Signature"
SIGNATURE_TOLERANCE = timedelta(seconds=300)
_PAYMENT_REASON_LENGTH = 40

_STATUSES = {
    "processing": PaymentState.PENDING,
    "succeeded": PaymentState.SUCCEEDED,
    "failed": PaymentState.FAILED,
    "reversed": PaymentState.REVERSED,
}
_AUTH_ERRORS = (
    "missing-auth-header",
    "invalid-auth",
    "api-key-not-provided",
    "no-matching-api-key",
    "api-key-revoked",
)
_ERRORS: dict[str, FailureCode] = {
    "invalid-mobile-number": FailureCode.RECIPIENT_NOT_FOUND,
    "blocked-account": FailureCode.RECIPIENT_NOT_ALLOWED,
    "recipient-limit": FailureCode.RECIPIENT_LIMIT,
    "name-mismatch": FailureCode.NAME_MISMATCH,
    "insufficient-funds": FailureCode.INSUFFICIENT_FUNDS,
    "request-validation-error": FailureCode.INVALID_REQUEST,
    **dict.fromkeys(_AUTH_ERRORS, FailureCode.AUTH_CONFIG),
}


def failure_code(error_code: str | None) -> FailureCode:
    """The canonical code of a Wave error code; anything unknown is UNCLASSIFIED."""
    return _ERRORS.get((error_code or "").strip().lower(), FailureCode.UNCLASSIFIED)


class SignatureCheck(StrEnum):
    """The verdict on a `Wave-Signature` header."""

    VALID = "valid"
    MISSING = "missing"
    MALFORMED = "malformed"
    MISMATCH = "mismatch"
    STALE = "stale"


def verify_signature(
    signature_header: str | None,
    raw_body: bytes,
    secrets: Sequence[str],
    *,
    now: datetime,
    tolerance: timedelta = SIGNATURE_TOLERANCE,
) -> SignatureCheck:
    """Check the signature against every secret in constant time, then the timestamp against `now`."""
    if not signature_header:
        return SignatureCheck.MISSING
    timestamps, signatures = [], []
    for part in signature_header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            timestamps.append(value)
        elif key == "v1":
            signatures.append(value.lower().encode("ascii", "replace"))
    if len(timestamps) != 1 or not re.fullmatch(r"[0-9]{1,12}", timestamps[0]) or not signatures:
        return SignatureCheck.MALFORMED
    signed_at = timestamps[0].encode()
    expected = [
        hmac.new(secret.encode(), signed_at + separator + raw_body, hashlib.sha256).hexdigest().encode()
        for secret in secrets
        for separator in (b"", b".")
    ]
    if not any(hmac.compare_digest(mine, theirs) for mine in expected for theirs in signatures):
        return SignatureCheck.MISMATCH
    if abs(now.timestamp() - int(timestamps[0])) > tolerance.total_seconds():
        return SignatureCheck.STALE
    return SignatureCheck.VALID


def payout_event(
    payout: Mapping[str, Any],
    *,
    provider: str,
    received_at: datetime,
    authenticity: Authenticity,
    event_id: str | None = None,
) -> ProviderEvent:
    """A payout object (webhook `data`, POST or GET answer) as a canonical event."""
    raw_status = text_of(payout, "status") or ""
    status = _STATUSES.get(raw_status.lower(), PaymentState.UNKNOWN)
    error = object_of(payout, "payout_error")
    code = text_of(error, "error_code")
    payout_id = text_of(payout, "id")
    fallback_key = f"{payout_id or '-'}:{status}:{text_of(payout, 'timestamp') or '-'}"
    return ProviderEvent(
        event_key=f"{provider}:{event_id or fallback_key}",
        provider=provider,
        received_at=received_at,
        status=status,
        raw_status=raw_status,
        authenticity=authenticity,
        instruction_id=text_of(payout, "client_reference"),
        provider_tx_ref=payout_id,
        provider_event_time=timestamp(payout.get("timestamp")),
        amount=xof_amount(payout.get("receive_amount")),
        currency=text_of(payout, "currency"),
        payee=text_of(payout, "mobile"),
        fee=xof_amount(payout.get("fee")),
        failure_code=failure_code(code) if status is PaymentState.FAILED else None,
        raw_code=code,
        raw_message=text_of(error, "error_message"),
    )


def parse_callback(
    headers: Mapping[str, str],
    raw_body: bytes,
    path_params: Mapping[str, str],
    *,
    received_at: datetime,
    secrets: Sequence[str],
    provider: str = PROVIDER,
) -> ProviderEvent | DiscardedCallback:
    """Verify and normalise a Wave webhook `{id, type, data}` whose data is a payout; `received_at` is "now"."""
    check = verify_signature(header(headers, SIGNATURE_HEADER), raw_body, secrets, now=received_at)
    if check is not SignatureCheck.VALID:
        return DiscardedCallback(f"Wave-Signature {check}", 401)
    body = json_object(raw_body)
    if body is None:
        return DiscardedCallback("the body is not a JSON object", 400)
    payout = object_of(body, "data")
    if "status" not in payout or text_of(payout, "id") is None:
        return DiscardedCallback(f"event {text_of(body, 'type') or '?'} is not about a payout", 200)
    return payout_event(
        payout,
        provider=provider,
        received_at=received_at,
        authenticity=Authenticity.SIGNATURE_VALID,
        event_id=text_of(body, "id"),
    )


def _now() -> datetime:
    return datetime.now(UTC)


class WavePayoutClient:
    """Payouts over the Wave Payout API."""

    def __init__(
        self,
        http: Http,
        *,
        base_url: str,
        api_key: str,
        provider: str = PROVIDER,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._provider = provider
        self._timeout = timeout
        self._clock = clock

    def send(self, instruction: Instruction) -> SendResult:
        return run(self.send_exchange(instruction), self._http)

    def query(self, instruction: Instruction) -> ProviderEvent | None:
        return run(self.query_exchange(instruction), self._http)

    def send_exchange(self, instruction: Instruction) -> Exchange[SendResult]:
        """`POST /v1/payout` with the attempt's key as `idempotency-key`; the answer is the payout object."""
        headers = {
            "Authorization": f"Bearer {self._api_key}",
            "idempotency-key": str(instruction.provider_request_key),
        }
        try:
            response = yield Call(
                "POST",
                self._base_url + "/v1/payout",
                json=self._payout_request(instruction),
                headers=headers,
                timeout=self._timeout,
            )
        except httpx.HTTPError as error:
            return SendResult.from_transport_error(error)
        return self._send_answer(response)

    def query_exchange(self, instruction: Instruction) -> Exchange[ProviderEvent | None]:
        """`GET /v1/payout/{id}`; without a payout id there is nothing to ask (resend with the same key instead)."""
        if instruction.provider_tx_ref is None:
            return None
        try:
            response = yield Call(
                "GET",
                f"{self._base_url}/v1/payout/{quote(instruction.provider_tx_ref, safe='')}",
                headers={"Authorization": f"Bearer {self._api_key}"},
                timeout=self._timeout,
            )
        except httpx.HTTPError:
            return None
        payout = json_object(response.content) if response.status_code == 200 else None
        if payout is None or "status" not in payout:
            return None
        return payout_event(
            payout,
            provider=self._provider,
            received_at=self._clock(),
            authenticity=Authenticity.VERIFIED_BY_QUERY,
        )

    def _send_answer(self, response: httpx.Response) -> SendResult:
        status = response.status_code
        body = json_object(response.content)
        if body is None:
            if status in {401, 403}:
                return SendResult.refused(
                    FailureCode.AUTH_CONFIG, http_status=status, raw_code=None, raw_message=None
                )
            return SendResult.unreadable(response)
        if status in {200, 201} and "status" in body:
            event = payout_event(
                body,
                provider=self._provider,
                received_at=self._clock(),
                authenticity=Authenticity.VERIFIED_BY_QUERY,
            )
            return SendResult(
                PaymentState.SUBMITTED, status, provider_tx_ref=event.provider_tx_ref, event=event
            )
        code, message = text_of(body, "code"), text_of(body, "message")
        if status in {401, 403}:
            return SendResult.refused(
                FailureCode.AUTH_CONFIG, http_status=status, raw_code=code, raw_message=message
            )
        if status == 409:
            return SendResult.in_doubt(
                FailureCode.DUPLICATE, message or "HTTP 409", http_status=status, raw_code=code
            )
        if 400 <= status < 500 and code is not None:
            return SendResult.refused(
                failure_code(code), http_status=status, raw_code=code, raw_message=message
            )
        if status >= 500:
            return SendResult.in_doubt(
                FailureCode.PROVIDER_UNAVAILABLE,
                message or f"HTTP {status}",
                http_status=status,
                raw_code=code,
            )
        return SendResult.unreadable(response)

    def _payout_request(self, instruction: Instruction) -> dict[str, Any]:
        request: dict[str, Any] = {
            "currency": instruction.currency,
            "receive_amount": str(instruction.amount),
            "mobile": instruction.payee_msisdn,
            "client_reference": instruction.reference,
            "payment_reason": (instruction.description or instruction.reference)[:_PAYMENT_REASON_LENGTH],
        }
        if instruction.payee_name:
            request["name"] = instruction.payee_name
        return request
