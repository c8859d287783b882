"""GSMA Mobile Money API v1.2 disbursements (PROVIDERS.md §1): send, batch, query, and normalise callbacks.

Our idempotency key is `X-CorrelationID` (the attempt's provider key); our reference travels as
`requestingOrganisationTransactionReference` and in the callback path. Callbacks are PUTs answered 204,
unsigned: they are checked against `X-Content-Hash` when present, and only a status query may make them final.
An error object whose code does not prove that no money moved leaves the payment in doubt (UNKNOWN).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx
import orjson

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

PROVIDER = "gsma-mmapi"
CALLBACK_ACK_STATUS = 204
#: The callback path parameter that holds our attempt reference: `/callbacks/gsma-mmapi/{reference}`.
REFERENCE_PARAM = "reference"
#: Items asked for per page of a batch's completions or rejections (a server may return fewer).
_PAGE_SIZE = 1000
_MAX_PAGES = 10_000

_TRANSACTION_STATUSES = {
    "completed": PaymentState.SUCCEEDED,
    "success": PaymentState.SUCCEEDED,
    "successful": PaymentState.SUCCEEDED,
    "succeeded": PaymentState.SUCCEEDED,
    "failed": PaymentState.FAILED,
    "rejected": PaymentState.FAILED,
    "declined": PaymentState.FAILED,
    "pending": PaymentState.PENDING,
    "accepted": PaymentState.PENDING,
    "processing": PaymentState.PENDING,
    "inprogress": PaymentState.PENDING,
    "reversed": PaymentState.REVERSED,
}

_LIMITS = (
    "maxbalanceexceeded",
    "dailyvolumelimitexceeded",
    "dailyvaluelimitexceeded",
    "weeklyvolumelimitexceeded",
    "weeklyvaluelimitexceeded",
    "monthlyvolumelimitexceeded",
    "monthlyvaluelimitexceeded",
    "accountmaxtotalvolumeexceeded",
    "accountmaxtotalvalueexceeded",
)
_ERROR_CODES: dict[str, FailureCode] = {
    "identifiererror": FailureCode.RECIPIENT_NOT_FOUND,
    "requestdeclined": FailureCode.RECIPIENT_NOT_ALLOWED,
    "linkviolation": FailureCode.RECIPIENT_NOT_ALLOWED,
    "nomandateauthority": FailureCode.RECIPIENT_NOT_ALLOWED,
    "countryoforiginnotpermitted": FailureCode.RECIPIENT_NOT_ALLOWED,
    "nationalitynotpermitted": FailureCode.RECIPIENT_NOT_ALLOWED,
    **dict.fromkeys(_LIMITS, FailureCode.RECIPIENT_LIMIT),
    "insufficientfunds": FailureCode.INSUFFICIENT_FUNDS,
    "lessthantransactionminvalue": FailureCode.AMOUNT_OUT_OF_RANGE,
    "greaterthantransactionmaxvalue": FailureCode.AMOUNT_OUT_OF_RANGE,
    "duplicaterequest": FailureCode.DUPLICATE,
    "formaterror": FailureCode.INVALID_REQUEST,
    "lengtherror": FailureCode.INVALID_REQUEST,
    "mandatoryvaluenotsupplied": FailureCode.INVALID_REQUEST,
    "currencynotsupported": FailureCode.INVALID_REQUEST,
    "negativevalue": FailureCode.INVALID_REQUEST,
    "transactiontypeerror": FailureCode.INVALID_REQUEST,
    "samepartieserror": FailureCode.INVALID_REQUEST,
    "clientauthorisationerror": FailureCode.AUTH_CONFIG,
    "servicingpartyauthorisationerror": FailureCode.AUTH_CONFIG,
    "requestingpartyauthorisationerror": FailureCode.AUTH_CONFIG,
    "ratelimiterror": FailureCode.PROVIDER_UNAVAILABLE,
    "quotehasexpired": FailureCode.EXPIRED,
}
_ERROR_CATEGORIES: dict[str, FailureCode] = {
    "businessrule": FailureCode.UNCLASSIFIED,
    "validation": FailureCode.INVALID_REQUEST,
    "authorisation": FailureCode.AUTH_CONFIG,
    "identification": FailureCode.RECIPIENT_NOT_FOUND,
    "internal": FailureCode.PROVIDER_UNAVAILABLE,
    "serviceunavailable": FailureCode.PROVIDER_UNAVAILABLE,
}


def failure_code(error: Mapping[str, Any]) -> FailureCode | None:
    """The canonical code of an error object: by `errorCode`, else by `errorCategory`; None if neither is there."""
    code = (text_of(error, "errorCode") or "").lower()
    category = (text_of(error, "errorCategory") or "").lower()
    if code in _ERROR_CODES:
        return _ERROR_CODES[code]
    if category in _ERROR_CATEGORIES:
        return _ERROR_CATEGORIES[category]
    return FailureCode.UNCLASSIFIED if code or category else None


def _squashed(text: str) -> str:
    return re.sub(r"[\s_-]", "", text).lower()


def _party(body: dict[str, Any], side: str, key: str) -> str | None:
    parties = body.get(side)
    if not isinstance(parties, list):
        return None
    values = (
        text_of(party, "value") for party in parties if isinstance(party, dict) and party.get("key") == key
    )
    return next(values, None)


def _fee(body: dict[str, Any]) -> int | None:
    fees = body.get("fees")
    if not isinstance(fees, list):
        return None
    amounts = [
        xof_amount(fee.get("feeAmount"))
        for fee in fees
        if isinstance(fee, dict) and fee.get("feeCurrency", "XOF") == "XOF"
    ]
    readable = [amount for amount in amounts if amount is not None]
    return sum(readable) if readable else None


def _event_key(provider: str, correlation: str | None, tx_ref: str | None, status: PaymentState) -> str:
    return f"{provider}:{correlation or '-'}:{tx_ref or '-'}:{status}"


@dataclass(frozen=True)
class _Origin:
    """Where a body came from, and what links it to our payment besides its own fields."""

    provider: str
    received_at: datetime
    authenticity: Authenticity
    correlation_id: str | None
    reference: str | None


def _transaction_event(body: dict[str, Any], origin: _Origin) -> ProviderEvent:
    """A transaction object (callback, synchronous answer or GET) as a canonical event."""
    raw_status = text_of(body, "transactionStatus") or ""
    status = _TRANSACTION_STATUSES.get(_squashed(raw_status), PaymentState.UNKNOWN)
    tx_ref = text_of(body, "transactionReference")
    return ProviderEvent(
        event_key=_event_key(origin.provider, origin.correlation_id, tx_ref, status),
        provider=origin.provider,
        received_at=origin.received_at,
        status=status,
        raw_status=raw_status,
        authenticity=origin.authenticity,
        instruction_id=text_of(body, "requestingOrganisationTransactionReference") or origin.reference,
        provider_request_key=origin.correlation_id,
        provider_tx_ref=tx_ref,
        provider_event_time=timestamp(body.get("modificationDate")) or timestamp(body.get("creationDate")),
        amount=xof_amount(body.get("amount")),
        currency=text_of(body, "currency"),
        payee=_party(body, "creditParty", "msisdn"),
        fee=_fee(body),
        failure_code=FailureCode.UNCLASSIFIED if status is PaymentState.FAILED else None,
    )


def _error_event(error: dict[str, Any], origin: _Origin) -> ProviderEvent:
    """An error object as a canonical event: FAILED if its code proves no money moved, else UNKNOWN."""
    code = failure_code(error) or FailureCode.UNCLASSIFIED
    status = PaymentState.FAILED if code.definitive else PaymentState.UNKNOWN
    return ProviderEvent(
        event_key=_event_key(origin.provider, origin.correlation_id or origin.reference, None, status),
        provider=origin.provider,
        received_at=origin.received_at,
        status=status,
        raw_status=text_of(error, "errorCategory") or "error",
        authenticity=origin.authenticity,
        instruction_id=origin.reference,
        provider_request_key=origin.correlation_id,
        provider_event_time=timestamp(error.get("errorDateTime")),
        failure_code=code,
        raw_code=text_of(error, "errorCode"),
        raw_message=text_of(error, "errorDescription", "errordescription"),
    )


def parse_callback(
    headers: Mapping[str, str],
    raw_body: bytes,
    path_params: Mapping[str, str],
    *,
    received_at: datetime,
    provider: str = PROVIDER,
) -> ProviderEvent | DiscardedCallback:
    """Normalise a GSMA callback (PUT to our `X-Callback-URL`): a transaction object or an error object."""
    content_hash = header(headers, "X-Content-Hash")
    if content_hash is not None and not hmac.compare_digest(
        content_hash.strip().lower().encode("utf-8", "replace"), hashlib.sha256(raw_body).hexdigest().encode()
    ):
        return DiscardedCallback("X-Content-Hash does not match the body", 400)
    body = json_object(raw_body)
    if body is None:
        return DiscardedCallback("the body is not a JSON object", 400)
    origin = _Origin(
        provider,
        received_at,
        Authenticity.UNAUTHENTICATED,
        header(headers, "X-CorrelationID"),
        path_params.get(REFERENCE_PARAM),
    )
    if "transactionStatus" in body or "transactionReference" in body:
        event = _transaction_event(body, origin)
    elif "errorCode" in body or "errorCategory" in body:
        event = _error_event(body, origin)
    else:
        return DiscardedCallback("neither a transaction nor an error object", 400)
    if event.instruction_id is None and event.provider_request_key is None:
        return DiscardedCallback("no reference nor X-CorrelationID: cannot tell which payment", 400)
    return event


def _now() -> datetime:
    return datetime.now(UTC)


def _x_date(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class GsmaMmapiClient:
    """Disbursements over GSMA MMAPI v1.2 (async callback flow, polling as fallback)."""

    def __init__(
        self,
        http: Http,
        *,
        base_url: str,
        api_key: str,
        client_id: str,
        organisation_id: str,
        debit_wallet: str,
        provider: str = PROVIDER,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._client_id = client_id
        self._organisation_id = organisation_id
        self._debit_wallet = debit_wallet
        self._provider = provider
        self._timeout = timeout
        self._clock = clock

    def send(self, instruction: Instruction) -> SendResult:
        return run(self.send_exchange(instruction), self._http)

    def query(self, instruction: Instruction) -> ProviderEvent | None:
        return run(self.query_exchange(instruction), self._http)

    def send_batch(
        self,
        instructions: Sequence[Instruction],
        *,
        batch_key: UUID,
        title: str,
        callback_url: str | None = None,
    ) -> SendResult:
        return run(
            self.send_batch_exchange(
                instructions, batch_key=batch_key, title=title, callback_url=callback_url
            ),
            self._http,
        )

    def batch_results(self, batch_id: str) -> list[ProviderEvent] | None:
        return run(self.batch_results_exchange(batch_id), self._http)

    def send_exchange(self, instruction: Instruction) -> Exchange[SendResult]:
        """`POST /transactions/type/disbursement` with the attempt's key as `X-CorrelationID`."""
        headers = self._headers(str(instruction.provider_request_key), instruction.callback_url)
        try:
            response = yield Call(
                "POST",
                self._url("/transactions/type/disbursement"),
                json=self._transaction_request(instruction, _x_date(self._clock())),
                headers=headers,
                timeout=self._timeout,
            )
        except httpx.HTTPError as error:
            return SendResult.from_transport_error(error)
        return (yield from self._send_answer(response, instruction))

    def send_batch_exchange(
        self,
        instructions: Sequence[Instruction],
        *,
        batch_key: UUID,
        title: str,
        callback_url: str | None = None,
    ) -> Exchange[SendResult]:
        """`POST /batchtransactions` (async only); `provider_tx_ref` of the result is the batch id when given."""
        sent_at = _x_date(self._clock())  # one request date for the batch's items
        body = {
            "batchTitle": title[:256],
            "batchdescription": title[:256],
            "transactions": [self._transaction_request(instruction, sent_at) for instruction in instructions],
        }
        try:
            response = yield Call(
                "POST",
                self._url("/batchtransactions"),
                json=body,
                headers=self._headers(str(batch_key), callback_url),
                timeout=self._timeout,
            )
        except httpx.HTTPError as error:
            return SendResult.from_transport_error(error)
        answer = json_object(response.content)
        if answer is None:
            return self._refusal_without_body(response)
        if response.status_code == 202:
            return self._request_state_answer(answer, response.status_code)
        return self._refusal(answer, response)

    def query_exchange(self, instruction: Instruction) -> Exchange[ProviderEvent | None]:
        """The transaction's status, by provider reference, request state, or our correlation id (in that order)."""
        if instruction.provider_tx_ref is not None:
            return (yield from self._transaction(instruction.provider_tx_ref, instruction))
        if instruction.request_state_ref is not None:
            return (yield from self._request_state(instruction.request_state_ref, instruction))
        answer = yield from self._get(f"/responses/{instruction.provider_request_key}")
        match = re.search(r"/transactions/([^/?#]+)$", text_of(answer or {}, "link") or "")
        return (yield from self._transaction(match.group(1), instruction)) if match else None

    def batch_results_exchange(self, batch_id: str) -> Exchange[list[ProviderEvent] | None]:
        """Every completed (SUCCEEDED) and rejected (FAILED) item of a batch so far; None if a page is unreadable."""
        completions = yield from self._pages(f"/batchtransactions/{quote(batch_id, safe='')}/completions")
        rejections = yield from self._pages(f"/batchtransactions/{quote(batch_id, safe='')}/rejections")
        if completions is None or rejections is None:
            return None
        return [self._batch_item_event(batch_id, item, PaymentState.SUCCEEDED) for item in completions] + [
            self._batch_item_event(batch_id, item, PaymentState.FAILED) for item in rejections
        ]

    def _send_answer(self, response: httpx.Response, instruction: Instruction) -> Exchange[SendResult]:
        body = json_object(response.content)
        if body is None:
            return self._refusal_without_body(response)
        if response.status_code == 202:
            return self._request_state_answer(body, response.status_code)
        if response.status_code in {200, 201} and "transactionStatus" in body:
            event = self._event_from_answer(body, instruction)
            return SendResult(
                PaymentState.SUBMITTED,
                response.status_code,
                provider_tx_ref=event.provider_tx_ref,
                event=event,
            )
        if failure_code(body) is FailureCode.DUPLICATE:
            return SendResult(
                PaymentState.SUBMITTED,
                response.status_code,
                FailureCode.DUPLICATE,
                text_of(body, "errorCode"),
                text_of(body, "errorDescription", "errordescription"),
                event=(yield from self.query_exchange(instruction)),
            )
        return self._refusal(body, response)

    def _request_state_answer(self, state: dict[str, Any], http_status: int) -> SendResult:
        status = (text_of(state, "status") or "").lower()
        error = object_of(state, "error")
        if status == "failed" and failure_code(error) is not None:
            return self._refused_by(error, http_status)
        if status not in {"pending", "completed"}:
            return SendResult.in_doubt(
                FailureCode.PROVIDER_UNAVAILABLE,
                f"request state {status or 'missing'}",
                http_status=http_status,
            )
        return SendResult(
            PaymentState.SUBMITTED,
            http_status,
            provider_tx_ref=text_of(state, "objectReference"),
            request_state_ref=text_of(state, "serverCorrelationId"),
        )

    def _refusal(self, body: dict[str, Any], response: httpx.Response) -> SendResult:
        if response.status_code in {401, 403}:
            return self._refused_by(body, response.status_code, FailureCode.AUTH_CONFIG)
        if 400 <= response.status_code < 500 and failure_code(body) is not None:
            return self._refused_by(body, response.status_code)
        if response.status_code >= 500:
            return SendResult.in_doubt(
                FailureCode.PROVIDER_UNAVAILABLE,
                text_of(body, "errorDescription", "errordescription") or f"HTTP {response.status_code}",
                http_status=response.status_code,
                raw_code=text_of(body, "errorCode"),
            )
        return SendResult.unreadable(response)

    def _refusal_without_body(self, response: httpx.Response) -> SendResult:
        if response.status_code in {401, 403}:
            return SendResult.refused(
                FailureCode.AUTH_CONFIG, http_status=response.status_code, raw_code=None, raw_message=None
            )
        return SendResult.unreadable(response)

    def _refused_by(
        self, error: dict[str, Any], http_status: int, code: FailureCode | None = None
    ) -> SendResult:
        return SendResult.refused(
            code or failure_code(error) or FailureCode.UNCLASSIFIED,
            http_status=http_status,
            raw_code=text_of(error, "errorCode"),
            raw_message=text_of(error, "errorDescription", "errordescription"),
        )

    def _request_state(
        self, server_correlation_id: str, instruction: Instruction
    ) -> Exchange[ProviderEvent | None]:
        state = yield from self._get(f"/requeststates/{quote(server_correlation_id, safe='')}")
        if state is None:
            return None
        status = (text_of(state, "status") or "").lower()
        reference = text_of(state, "objectReference")
        if status == "completed" and reference is not None:
            return (yield from self._transaction(reference, instruction))
        if status == "failed" and object_of(state, "error"):
            return _error_event(object_of(state, "error"), self._origin(instruction))
        if status == "pending":
            return _transaction_event({"transactionStatus": "pending"}, self._origin(instruction))
        return None

    def _transaction(
        self, transaction_reference: str, instruction: Instruction
    ) -> Exchange[ProviderEvent | None]:
        body = yield from self._get(f"/transactions/{quote(transaction_reference, safe='')}")
        return None if body is None else self._event_from_answer(body, instruction)

    def _event_from_answer(self, body: dict[str, Any], instruction: Instruction) -> ProviderEvent:
        return _transaction_event(body, self._origin(instruction))

    def _origin(self, instruction: Instruction) -> _Origin:
        return _Origin(
            self._provider,
            self._clock(),
            Authenticity.VERIFIED_BY_QUERY,
            str(instruction.provider_request_key),
            instruction.reference,
        )

    def _batch_item_event(self, batch_id: str, item: dict[str, Any], status: PaymentState) -> ProviderEvent:
        reference = text_of(item, "requestingOrganisationTransactionReference")
        failed = status is PaymentState.FAILED
        return ProviderEvent(
            event_key=f"{self._provider}:batch:{batch_id}:{reference or text_of(item, 'transactionReference')}:{status}",
            provider=self._provider,
            received_at=self._clock(),
            status=status,
            raw_status="rejection" if failed else "completion",
            authenticity=Authenticity.VERIFIED_BY_QUERY,
            instruction_id=reference,
            provider_tx_ref=text_of(item, "transactionReference"),
            provider_event_time=timestamp(item.get("rejectionDate" if failed else "completionDate")),
            payee=_party(item, "creditParty", "msisdn"),
            failure_code=FailureCode.UNCLASSIFIED if failed else None,
            raw_message=text_of(item, "rejectionReason"),
        )

    def _pages(self, path: str) -> Exchange[list[dict[str, Any]] | None]:
        """Every item of a paged list; None when a page cannot be read.

        The server may cap `limit`: a short page ends the list only when `X-Records-Available-Count` says
        so, otherwise the next page is asked for until one comes back empty.
        """
        items: list[dict[str, Any]] = []
        offset = 0
        for _ in range(_MAX_PAGES):
            try:
                response = yield Call(
                    "GET",
                    self._url(path),
                    params={"offset": offset, "limit": _PAGE_SIZE},
                    headers=self._headers(None, None),
                    timeout=self._timeout,
                )
                batch = orjson.loads(response.content) if response.status_code == 200 else None
            except (httpx.HTTPError, ValueError):
                return None
            if not isinstance(batch, list):
                return None
            items.extend(item for item in batch if isinstance(item, dict))
            offset += len(batch)
            available = header(response.headers, "X-Records-Available-Count") or ""
            if not batch or (available.isdigit() and offset >= int(available)):
                break
        return items

    def _get(self, path: str) -> Exchange[dict[str, Any] | None]:
        try:
            response = yield Call(
                "GET", self._url(path), headers=self._headers(None, None), timeout=self._timeout
            )
        except httpx.HTTPError:
            return None
        return json_object(response.content) if response.status_code == 200 else None

    def _headers(self, correlation_id: str | None, callback_url: str | None) -> dict[str, str]:
        headers = {
            "X-Date": _x_date(self._clock()),
            "X-API-Key": self._api_key,
            "X-Client-Id": self._client_id,
        }
        if correlation_id is not None:
            headers["X-CorrelationID"] = correlation_id
        if callback_url is not None:
            headers["X-Callback-URL"] = callback_url
        return headers

    def _transaction_request(self, instruction: Instruction, request_date: str) -> dict[str, Any]:
        request: dict[str, Any] = {
            "amount": str(instruction.amount),
            "currency": instruction.currency,
            "type": "disbursement",
            "debitParty": [{"key": "walletid", "value": self._debit_wallet}],
            "creditParty": [{"key": "msisdn", "value": instruction.payee_msisdn}],
            "requestingOrganisationTransactionReference": instruction.reference,
            "requestDate": request_date,
            "requestingOrganisation": {
                "requestingOrganisationIdentifierType": "organisationid",
                "requestingOrganisationIdentifier": self._organisation_id,
            },
        }
        if instruction.description:
            request["descriptionText"] = instruction.description[:160]
        return request

    def _url(self, path: str) -> str:
        return self._base_url + path
