"""MTN MoMo Open API disbursements (PROVIDERS.md §2): token, transfer, status, and normalise callbacks.

`X-Reference-Id` (the attempt's UUID v4 key) is both the idempotency key and the transfer's id; a reused key
answers `409 RESOURCE_ALREADY_EXIST`, which means "look the transfer up", never "rejected". Callbacks (PUT or
POST, answered 200) are unsigned and carry no reference id: it travels in the callback path.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
    json_object,
    text_of,
    xof_amount,
)
from payments.providers.exchanges import Call, Exchange, run
from payments.providers.transport import Http

PROVIDER = "mtn-momo"
CALLBACK_ACK_STATUS = 200
#: The callback path parameter that holds the transfer's `X-Reference-Id`: `/callbacks/mtn-momo/{reference_id}`.
REFERENCE_ID_PARAM = "reference_id"
_TOKEN_MARGIN = timedelta(seconds=60)
_MESSAGE_LENGTH = 160

_STATUSES = {
    "PENDING": PaymentState.PENDING,
    "SUCCESSFUL": PaymentState.SUCCEEDED,
    "FAILED": PaymentState.FAILED,
}
_REASONS: dict[str, FailureCode] = {
    "PAYEE_NOT_FOUND": FailureCode.RECIPIENT_NOT_FOUND,
    "PAYEE_NOT_ALLOWED_TO_RECEIVE": FailureCode.RECIPIENT_NOT_ALLOWED,
    "NOT_ALLOWED": FailureCode.RECIPIENT_NOT_ALLOWED,
    "PAYER_LIMIT_REACHED": FailureCode.RECIPIENT_LIMIT,
    "NOT_ENOUGH_FUNDS": FailureCode.INSUFFICIENT_FUNDS,
    "RESOURCE_ALREADY_EXIST": FailureCode.DUPLICATE,
    "INVALID_CURRENCY": FailureCode.INVALID_REQUEST,
    "PAYER_NOT_FOUND": FailureCode.AUTH_CONFIG,
    "NOT_ALLOWED_TARGET_ENVIRONMENT": FailureCode.AUTH_CONFIG,
    "INVALID_CALLBACK_URL_HOST": FailureCode.AUTH_CONFIG,
    "SERVICE_UNAVAILABLE": FailureCode.PROVIDER_UNAVAILABLE,
    "INTERNAL_PROCESSING_ERROR": FailureCode.PROVIDER_UNAVAILABLE,
    "EXPIRED": FailureCode.EXPIRED,
    "COULD_NOT_PERFORM_TRANSACTION": FailureCode.EXPIRED,
}


def failure_code(reason_code: str | None) -> FailureCode:
    """The canonical code of an MTN `ErrorReason` code; anything unknown is UNCLASSIFIED."""
    return _REASONS.get((reason_code or "").strip().upper(), FailureCode.UNCLASSIFIED)


def _reason(body: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """`reason` as an ErrorReason object `{code, message}` or as a bare string (a code, or else a message)."""
    reason = body.get("reason")
    if isinstance(reason, dict):
        return text_of(reason, "code"), text_of(reason, "message")
    if isinstance(reason, str) and re.fullmatch(r"[A-Z_]+", reason.strip()):
        return reason.strip(), None
    return None, text_of(body, "reason")


def _payee(body: Mapping[str, Any]) -> str | None:
    payee = body.get("payee")
    if not isinstance(payee, dict):
        return None
    party = text_of(payee, "partyId")
    if party is not None and party.isdigit() and payee.get("partyIdType", "MSISDN") == "MSISDN":
        return "+" + party
    return party


def transfer_event(
    body: Mapping[str, Any],
    *,
    provider: str,
    received_at: datetime,
    authenticity: Authenticity,
    reference_id: str | None,
) -> ProviderEvent:
    """A transfer representation (callback body or GET answer) as a canonical event."""
    raw_status = text_of(body, "status") or ""
    status = _STATUSES.get(raw_status.upper(), PaymentState.UNKNOWN)
    code, message = _reason(body)
    external_id = text_of(body, "externalId")
    return ProviderEvent(
        event_key=f"{provider}:{reference_id or external_id or '-'}:{status}",
        provider=provider,
        received_at=received_at,
        status=status,
        raw_status=raw_status,
        authenticity=authenticity,
        instruction_id=external_id,
        provider_request_key=reference_id,
        provider_tx_ref=text_of(body, "financialTransactionId"),
        amount=xof_amount(body.get("amount")),
        currency=text_of(body, "currency"),
        payee=_payee(body),
        failure_code=failure_code(code) if status is PaymentState.FAILED else None,
        raw_code=code,
        raw_message=message,
    )


def parse_callback(
    headers: Mapping[str, str],
    raw_body: bytes,
    path_params: Mapping[str, str],
    *,
    received_at: datetime,
    provider: str = PROVIDER,
) -> ProviderEvent | DiscardedCallback:
    """Normalise an MTN transfer callback; the reference id comes from the path, the body has none."""
    body = json_object(raw_body)
    if body is None:
        return DiscardedCallback("the body is not a JSON object", 400)
    if "status" not in body:
        return DiscardedCallback("not a transfer representation (no status)", 400)
    event = transfer_event(
        body,
        provider=provider,
        received_at=received_at,
        authenticity=Authenticity.UNAUTHENTICATED,
        reference_id=path_params.get(REFERENCE_ID_PARAM),
    )
    if event.instruction_id is None and event.provider_request_key is None:
        return DiscardedCallback("no reference id in the path nor externalId: cannot tell which payment", 400)
    return event


def _now() -> datetime:
    return datetime.now(UTC)


def _message(text: str) -> str:
    """MTN refuses apostrophes and notes over 160 characters."""
    return text.replace("'", " ").replace("’", " ")[:_MESSAGE_LENGTH]


@dataclass(frozen=True)
class _Token:
    value: str
    expires_at: datetime


class MtnMomoClient:
    """Transfers over the MTN MoMo Disbursement product, with a cached bearer token."""

    def __init__(
        self,
        http: Http,
        *,
        base_url: str,
        api_user: str,
        api_key: str,
        subscription_key: str,
        target_environment: str,
        provider: str = PROVIDER,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._api_user = api_user
        self._api_key = api_key
        self._subscription_key = subscription_key
        self._target_environment = target_environment
        self._provider = provider
        self._timeout = timeout
        self._clock = clock
        self._token: _Token | None = None

    def send(self, instruction: Instruction) -> SendResult:
        return run(self.send_exchange(instruction), self._http)

    def query(self, instruction: Instruction) -> ProviderEvent | None:
        return run(self.query_exchange(instruction), self._http)

    def send_exchange(self, instruction: Instruction) -> Exchange[SendResult]:
        """`POST /disbursement/v1_0/transfer` with the attempt's key as `X-Reference-Id`; 202 = SUBMITTED."""
        headers = {"X-Reference-Id": str(instruction.provider_request_key)}
        if instruction.callback_url is not None:
            headers["X-Callback-Url"] = instruction.callback_url
        answer = yield from self._call(
            "POST", "/disbursement/v1_0/transfer", headers, self._transfer_request(instruction)
        )
        if isinstance(answer, SendResult):
            return answer
        return (yield from self._send_answer(answer, instruction))

    def query_exchange(self, instruction: Instruction) -> Exchange[ProviderEvent | None]:
        """`GET /disbursement/v1_0/transfer/{X-Reference-Id}`; None when there is no usable answer."""
        reference_id = str(instruction.provider_request_key)
        answer = yield from self._call(
            "GET", f"/disbursement/v1_0/transfer/{quote(reference_id, safe='')}", {}, None
        )
        if isinstance(answer, SendResult) or answer.status_code != 200:
            return None
        body = json_object(answer.content)
        if body is None or "status" not in body:
            return None
        return transfer_event(
            body,
            provider=self._provider,
            received_at=self._clock(),
            authenticity=Authenticity.VERIFIED_BY_QUERY,
            reference_id=reference_id,
        )

    def _send_answer(self, response: httpx.Response, instruction: Instruction) -> Exchange[SendResult]:
        status = response.status_code
        body = json_object(response.content)
        code = text_of(body or {}, "code")
        message = text_of(body or {}, "message")
        if status == 202:
            readable = body is not None or not response.content.strip()
            return SendResult(PaymentState.SUBMITTED, status) if readable else SendResult.unreadable(response)
        if status == 409:
            return SendResult(
                PaymentState.SUBMITTED,
                status,
                FailureCode.DUPLICATE,
                code,
                message,
                event=(yield from self.query_exchange(instruction)),
            )
        if status in {401, 403}:
            return SendResult.refused(
                FailureCode.AUTH_CONFIG, http_status=status, raw_code=code, raw_message=message
            )
        if status == 400:
            reason = failure_code(code) if code else FailureCode.INVALID_REQUEST
            return SendResult.refused(reason, http_status=status, raw_code=code, raw_message=message)
        if 400 < status < 500 and code is not None:
            return SendResult.refused(
                failure_code(code), http_status=status, raw_code=code, raw_message=message
            )
        if status >= 500:
            return SendResult.in_doubt(
                failure_code(code) if code else FailureCode.PROVIDER_UNAVAILABLE,
                message or f"HTTP {status}",
                http_status=status,
                raw_code=code,
            )
        return SendResult.unreadable(response)

    def _call(
        self, method: str, path: str, headers: dict[str, str], body: dict[str, Any] | None
    ) -> Exchange[httpx.Response | SendResult]:
        """One authorised call; a 401 drops the cached token and tries once more with a fresh one."""
        answer = yield from self._authorised(method, path, headers, body)
        if isinstance(answer, httpx.Response) and answer.status_code == 401:
            self._token = None
            answer = yield from self._authorised(method, path, headers, body)
        return answer

    def _authorised(
        self, method: str, path: str, headers: dict[str, str], body: dict[str, Any] | None
    ) -> Exchange[httpx.Response | SendResult]:
        token = yield from self._access_token()
        if isinstance(token, SendResult):
            return token
        try:
            return (
                yield Call(
                    method,
                    self._base_url + path,
                    headers={
                        "Authorization": f"Bearer {token}",
                        "Ocp-Apim-Subscription-Key": self._subscription_key,
                        "X-Target-Environment": self._target_environment,
                        **headers,
                    },
                    json=body,
                    timeout=self._timeout,
                )
            )
        except httpx.HTTPError as error:
            return SendResult.from_transport_error(error)

    def _access_token(self) -> Exchange[str | SendResult]:
        """The cached token, or a new one from `POST /disbursement/token/`; a failure says why as a SendResult."""
        now = self._clock()
        if self._token is not None and now < self._token.expires_at:
            return self._token.value
        try:
            response = yield Call(
                "POST",
                self._base_url + "/disbursement/token/",
                auth=(self._api_user, self._api_key),
                headers={"Ocp-Apim-Subscription-Key": self._subscription_key},
                timeout=self._timeout,
            )
        except httpx.HTTPError as error:
            return SendResult.from_transport_error(error)
        if response.status_code in {401, 403}:
            return SendResult.refused(
                FailureCode.AUTH_CONFIG,
                http_status=response.status_code,
                raw_code=None,
                raw_message="token refused",
            )
        body = json_object(response.content) if response.status_code == 200 else None
        value = text_of(body, "access_token") if body is not None else None
        if body is None or value is None:
            return SendResult.unreadable(response)
        expires_in = text_of(body, "expires_in") or ""
        lifetime = int(expires_in) if expires_in.isdigit() else 0
        self._token = _Token(value, now + timedelta(seconds=lifetime) - _TOKEN_MARGIN)
        return value

    def _transfer_request(self, instruction: Instruction) -> dict[str, Any]:
        return {
            "amount": str(instruction.amount),
            "currency": instruction.currency,
            "externalId": instruction.reference,
            "payee": {"partyIdType": "MSISDN", "partyId": re.sub(r"\D", "", instruction.payee_msisdn)},
            "payerMessage": _message(instruction.reference),
            "payeeNote": _message(instruction.description or instruction.reference),
        }
