"""GSMA Mobile Money API v1.2 disbursements: single and batch requests, polling views, PUT callbacks."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import orjson
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from simulator.behaviour import Dialect, FailureCode, PaymentFate
from simulator.callbacks import Callback, Delivery
from simulator.clock import iso_millis, utc_now, yymmdd
from simulator.ledger import CallbackRecord, Payment
from simulator.payloads import UnreadableBody, json_body, json_response
from simulator.processor import CONFLICT_FAILURE, CallbackEvent
from simulator.simulation import Simulation

_AMOUNT = re.compile(r"^(0|[1-9][0-9]{0,17})([.][0-9]{0,3}[1-9])?$")
_ECHOED = ("creditParty", "debitParty", "type", "descriptionText", "requestDate", "metadata")
_POLL_LIMIT = 100

_STATUS_OF_CATEGORY = {
    "validation": 400,
    "businessRule": 400,
    "identification": 404,
    "authorisation": 401,
    "internal": 500,
    "serviceUnavailable": 503,
}

_FAILURES: dict[FailureCode, tuple[str, str, str]] = {
    FailureCode.RECIPIENT_NOT_FOUND: (
        "identification",
        "identifierError",
        "Credit party {msisdn} is not registered for mobile money",
    ),
    FailureCode.RECIPIENT_BLOCKED: ("businessRule", "requestDeclined", "Credit party account is blocked"),
    FailureCode.RECIPIENT_LIMIT: (
        "businessRule",
        "maxBalanceExceeded",
        "Credit party maximum balance exceeded",
    ),
    FailureCode.NAME_MISMATCH: (
        "businessRule",
        "genericError",
        "Credit party name does not match the account",
    ),
    FailureCode.INSUFFICIENT_FUNDS: (
        "businessRule",
        "insufficientFunds",
        "Debit party has insufficient funds",
    ),
    FailureCode.AMOUNT_OUT_OF_RANGE: (
        "businessRule",
        "greaterThanTransactionMaxValue",
        "Amount is above the transaction maximum",
    ),
    FailureCode.PROVIDER_ERROR: ("internal", "genericError", "The request could not be completed"),
    FailureCode.EXPIRED: ("businessRule", "genericError", "The request expired before completion"),
}


class Party(BaseModel):
    model_config = ConfigDict(extra="allow")

    key: str = Field(min_length=1, max_length=256)
    value: str = Field(min_length=1, max_length=256)


class TransactionIn(BaseModel):
    """The disbursement request fields the simulator reads; the rest is accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    amount: str = Field(max_length=23)
    currency: str = Field(min_length=3, max_length=3)
    credit_party: list[Party] = Field(alias="creditParty", min_length=1, max_length=10)
    debit_party: list[Party] = Field(default_factory=list, alias="debitParty", max_length=10)
    reference: str | None = Field(
        default=None, alias="requestingOrganisationTransactionReference", max_length=256
    )
    description: str | None = Field(default=None, alias="descriptionText", max_length=160)


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="allow")

    transactions: list[dict[str, Any]] = Field(min_length=1, max_length=999_999)
    batch_title: str | None = Field(default=None, alias="batchTitle", max_length=256)


class GsmaError(Exception):
    """An error object to answer with (PROVIDERS.md §1.3), with the HTTP status of its category."""

    def __init__(
        self, category: str, code: str, description: str, parameters: list[dict[str, str]] | None = None
    ):
        super().__init__(description)
        self.body = error_object(category, code, description, parameters)
        self.status_code = _STATUS_OF_CATEGORY[category]

    def response(self) -> Response:
        return json_response(self.body, self.status_code, headers=_date_header())


@dataclass(slots=True, eq=False)
class ClientRequest:
    """A creation request as the provider stored it: both correlation ids and what it created."""

    correlation_id: str
    server_correlation_id: str
    kind: Literal["transaction", "batch"]
    object_ref: str
    notification: Literal["callback", "polling"]


@dataclass(slots=True, eq=False)
class Batch:
    batch_id: str
    title: str | None
    description: str | None
    created_at: datetime
    callback_url: str | None
    correlation_id: str
    payments: list[Payment]
    parse_rejections: list[dict[str, Any]]
    fate: PaymentFate
    completed_at: datetime | None = None
    callbacks: list[CallbackRecord] = field(default_factory=list)


class GsmaDesk:
    """The simulated MMAPI provider. Routes live under `/gsma`; callbacks are PUTs to X-Callback-URL."""

    dialect: Dialect = "gsma"

    def __init__(self, simulation: Simulation) -> None:
        self._simulation = simulation
        self.reset()

    def reset(self) -> None:
        self._by_correlation: dict[str, ClientRequest] = {}
        self._by_server_correlation: dict[str, ClientRequest] = {}
        self._batches: dict[str, Batch] = {}

    def outage(self, status_code: int) -> Response:
        if status_code == 503:
            return GsmaError("serviceUnavailable", "genericError", "Service is unavailable").response()
        return GsmaError("internal", "genericError", "Internal server error").response()

    def router(self) -> APIRouter:
        router = APIRouter(prefix="/gsma", tags=["gsma"])
        router.add_api_route("/transactions/type/disbursement", self.post_disbursement, methods=["POST"])
        router.add_api_route("/batchtransactions", self.post_batch, methods=["POST"])
        router.add_api_route("/batchtransactions/{batch_id}", self.get_batch, methods=["GET"])
        router.add_api_route(
            "/batchtransactions/{batch_id}/completions", self.get_completions, methods=["GET"]
        )
        router.add_api_route("/batchtransactions/{batch_id}/rejections", self.get_rejections, methods=["GET"])
        router.add_api_route(
            "/requeststates/{server_correlation_id}", self.get_request_state, methods=["GET"]
        )
        router.add_api_route("/transactions/{transaction_reference}", self.get_transaction, methods=["GET"])
        router.add_api_route("/responses/{client_correlation_id}", self.get_response, methods=["GET"])
        router.add_api_route("/heartbeat", self.get_heartbeat, methods=["GET"])
        return router

    # --- ways in -----------------------------------------------------------------------------------------

    async def post_disbursement(self, request: Request) -> Response:
        try:
            correlation_id, callback_url = _correlation(request)
            raw, transaction = _transaction(await _body(request))
        except GsmaError as error:
            return error.response()
        admission = await self._simulation.admit(
            self, key=correlation_id, reference=transaction.reference, moves_money=True
        )
        if admission.refusal:
            return admission.refusal
        if correlation_id in self._by_correlation:
            return admission.answer(_duplicate(correlation_id).response())
        payment = self._payment(raw, transaction, request_key=correlation_id, callback_url=callback_url)
        state = self._remember(correlation_id, "transaction", payment.provider_ref, callback_url)
        fate = self._simulation.payment_fate(self.dialect, payment.our_reference)
        self._simulation.processor.accept(payment, fate, self)
        return admission.answer(json_response(self._request_state(state), 202, headers=_date_header()))

    async def post_batch(self, request: Request) -> Response:
        try:
            correlation_id, callback_url = _correlation(request)
            raw = await _body(request)
            batch_in = BatchIn.model_validate(raw)
        except GsmaError as error:
            return error.response()
        except ValidationError as error:
            return _validation_error(error).response()
        admission = await self._simulation.admit(self, key=correlation_id, reference=None, moves_money=True)
        if admission.refusal:
            return admission.refusal
        if correlation_id in self._by_correlation:
            return admission.answer(_duplicate(correlation_id).response())
        batch = self._open_batch(raw, batch_in, correlation_id, callback_url)
        state = self._remember(correlation_id, "batch", batch.batch_id, callback_url)
        return admission.answer(json_response(self._request_state(state), 202, headers=_date_header()))

    async def get_batch(self, batch_id: str) -> Response:
        admission = await self._simulation.admit(self)
        if admission.refusal:
            return admission.refusal
        batch = self._batches.get(batch_id)
        if batch is None:
            return admission.answer(_unknown("batchId", batch_id).response())
        return admission.answer(json_response(self._batch_view(batch), headers=_date_header()))

    async def get_completions(self, request: Request, batch_id: str) -> Response:
        return await self._batch_items(request, batch_id, completed=True)

    async def get_rejections(self, request: Request, batch_id: str) -> Response:
        return await self._batch_items(request, batch_id, completed=False)

    async def get_request_state(self, server_correlation_id: str) -> Response:
        admission = await self._simulation.admit(self)
        if admission.refusal:
            return admission.refusal
        state = self._by_server_correlation.get(server_correlation_id)
        if state is None:
            return admission.answer(_unknown("serverCorrelationId", server_correlation_id).response())
        return admission.answer(json_response(self._request_state(state), headers=_date_header()))

    async def get_transaction(self, transaction_reference: str) -> Response:
        admission = await self._simulation.admit(self)
        if admission.refusal:
            return admission.refusal
        payment = self._simulation.ledger.payment(self.dialect, transaction_reference)
        if payment is None:
            return admission.answer(_unknown("transactionReference", transaction_reference).response())
        body = self._transaction_view(payment, _status(payment))
        return admission.answer(json_response(body, headers=_date_header()))

    async def get_response(self, client_correlation_id: str) -> Response:
        admission = await self._simulation.admit(self)
        if admission.refusal:
            return admission.refusal
        state = self._by_correlation.get(client_correlation_id)
        if state is None:
            return admission.answer(_unknown("clientCorrelationId", client_correlation_id).response())
        path = "transactions" if state.kind == "transaction" else "batchtransactions"
        return admission.answer(
            json_response({"link": f"/{path}/{state.object_ref}"}, headers=_date_header())
        )

    async def get_heartbeat(self) -> Response:
        admission = await self._simulation.admit(self)
        return admission.refusal or admission.answer(json_response({"serviceStatus": "available"}))

    # --- callbacks (the processor's notifier) ------------------------------------------------------------

    def callbacks(self, payment: Payment, event: CallbackEvent) -> list[Callback]:
        if payment.callback_url is None:
            return []
        if event == "pending":
            body = self._transaction_view(payment, "pending")
        elif event == "conflict":
            body = _failure_object(payment, CONFLICT_FAILURE)
        elif payment.status == "failed" and payment.failure is not None:
            body = _failure_object(payment, payment.failure)
        else:
            body = self._transaction_view(payment, _status(payment))
        return [_put(payment.callback_url, payment.request_key, body)]

    # --- the rules of the desk ---------------------------------------------------------------------------

    def _payment(
        self,
        raw: dict[str, Any],
        transaction: TransactionIn,
        *,
        request_key: str,
        callback_url: str | None,
        batch_id: str | None = None,
    ) -> Payment:
        at = utc_now()
        provider_ref = f"GS{yymmdd(at)}{self._simulation.ledger.serial():08d}"
        return Payment(
            dialect=self.dialect,
            provider_ref=provider_ref,
            request_key=request_key,
            our_reference=transaction.reference or request_key,
            msisdn=_msisdn(transaction.credit_party),
            name=_name(transaction.credit_party),
            requested_amount=int(transaction.amount),
            created_at=at,
            batch_id=batch_id,
            callback_url=callback_url,
            echo={key: raw[key] for key in _ECHOED if key in raw}
            | {"ours": transaction.reference is not None},
        )

    def _remember(
        self,
        correlation_id: str,
        kind: Literal["transaction", "batch"],
        object_ref: str,
        callback_url: str | None,
    ) -> ClientRequest:
        notification: Literal["callback", "polling"] = "callback" if callback_url else "polling"
        state = ClientRequest(correlation_id, self._simulation.new_uuid(), kind, object_ref, notification)
        self._by_correlation[correlation_id] = state
        self._by_server_correlation[state.server_correlation_id] = state
        return state

    def _open_batch(
        self, raw: dict[str, Any], batch_in: BatchIn, correlation_id: str, callback_url: str | None
    ) -> Batch:
        at = utc_now()
        batch_id = f"BATCH-{yymmdd(at)}-{self._simulation.ledger.serial():08d}"
        accepted: list[tuple[Payment, PaymentFate]] = []
        rejected: list[dict[str, Any]] = []
        for index, item in enumerate(batch_in.transactions):
            try:
                item_raw, transaction = _transaction(item)
            except GsmaError as error:
                rejected.append(_parse_rejection(item, error, at))
                continue
            payment = self._payment(
                item_raw, transaction, request_key=f"{batch_id}/{index}", callback_url=None, batch_id=batch_id
            )
            accepted.append((payment, self._simulation.payment_fate(self.dialect, payment.our_reference)))
        description = raw.get("batchDescription", raw.get("batchdescription"))
        batch = Batch(
            batch_id=batch_id,
            title=batch_in.batch_title,
            description=description if isinstance(description, str) else None,
            created_at=at,
            callback_url=callback_url,
            correlation_id=correlation_id,
            payments=[payment for payment, _ in accepted],
            parse_rejections=rejected,
            fate=self._simulation.payment_fate(self.dialect, f"batch:{batch_id}"),
        )
        self._batches[batch_id] = batch
        self._simulation.processor.accept_batch(self.dialect, accepted, lambda: self._complete(batch))
        return batch

    def _complete(self, batch: Batch) -> None:
        batch.completed_at = utc_now()
        if batch.callback_url is None:
            return
        callback = _put(batch.callback_url, batch.correlation_id, self._batch_view(batch))
        delivery = Delivery.of(callback, "batch-completed")
        batch.callbacks.append(delivery.record)
        if batch.fate.duplicate_callback:
            twin = Delivery.of(callback, "duplicate-batch-completed")
            batch.callbacks.append(twin.record)
            delivery.followers.append((twin, 0.0))
        self._simulation.dispatcher.send(delivery, batch.fate.late_by)

    def _request_state(self, state: ClientRequest) -> dict[str, Any]:
        status, error = "pending", None
        if state.kind == "batch":
            if self._batches[state.object_ref].completed_at is not None:
                status = "completed"
        else:
            payment = self._simulation.ledger.payment(self.dialect, state.object_ref)
            if payment is not None and payment.status in ("succeeded", "reversed"):
                status = "completed"
            elif payment is not None and payment.status == "failed" and payment.failure is not None:
                status, error = "failed", _failure_object(payment, payment.failure)
        body: dict[str, Any] = {
            "serverCorrelationId": state.server_correlation_id,
            "status": status,
            "notificationMethod": state.notification,
            "objectReference": state.object_ref,
            "pollLimit": _POLL_LIMIT,
        }
        if error is not None:
            body["error"] = error
        return body

    def _transaction_view(self, payment: Payment, status: str) -> dict[str, Any]:
        echo = payment.echo
        body: dict[str, Any] = {"transactionReference": payment.provider_ref}
        if echo.get("ours"):
            body["requestingOrganisationTransactionReference"] = payment.our_reference
        for key in ("creditParty", "debitParty"):
            if key in echo:
                body[key] = echo[key]
        body["type"] = echo.get("type", "disbursement")
        body["transactionStatus"] = status
        body["amount"] = str(payment.reported_amount)
        body["currency"] = "XOF"
        if "descriptionText" in echo:
            body["descriptionText"] = echo["descriptionText"]
        if status in ("completed", "reversed"):
            if payment.fee:
                fee = {"feeType": "disbursementFee", "feeAmount": str(payment.fee), "feeCurrency": "XOF"}
                body["fees"] = [fee]
            body["transactionReceipt"] = _receipt(payment)
        body["creationDate"] = iso_millis(payment.created_at)
        body["modificationDate"] = iso_millis(payment.modified_at)
        for key in ("requestDate", "metadata"):
            if key in echo:
                body[key] = echo[key]
        return body

    def _batch_view(self, batch: Batch) -> dict[str, Any]:
        completed = sum(1 for p in batch.payments if p.status in ("succeeded", "reversed"))
        failed = sum(1 for p in batch.payments if p.status == "failed")
        body: dict[str, Any] = {
            "batchId": batch.batch_id,
            "batchStatus": "completed" if batch.completed_at else "approved",
        }
        if batch.title is not None:
            body["batchTitle"] = batch.title
        if batch.description is not None:
            body["batchDescription"] = batch.description
        body |= {
            "processingFlag": batch.completed_at is None,
            "completedCount": completed,
            "rejectionCount": failed + len(batch.parse_rejections),
            "parsingSuccessCount": len(batch.payments),
            "creationDate": iso_millis(batch.created_at),
            "approvalDate": iso_millis(batch.created_at),
            "modificationDate": iso_millis(batch.completed_at or batch.created_at),
        }
        if batch.completed_at is not None:
            body["completionDate"] = iso_millis(batch.completed_at)
        return body

    async def _batch_items(self, request: Request, batch_id: str, *, completed: bool) -> Response:
        admission = await self._simulation.admit(self)
        if admission.refusal:
            return admission.refusal
        batch = self._batches.get(batch_id)
        if batch is None:
            return admission.answer(_unknown("batchId", batch_id).response())
        try:
            limit, offset, since, until = _paging(request)
        except GsmaError as error:
            return admission.answer(error.response())
        items = _completions(batch) if completed else _rejections(batch)
        dated = "completionDate" if completed else "rejectionDate"
        items = [item for item in items if since <= item[dated] <= until]
        page = items[offset : offset + limit]
        headers = _date_header() | {
            "X-Records-Available-Count": str(len(items)),
            "X-Records-Returned-Count": str(len(page)),
        }
        return admission.answer(json_response(page, headers=headers))


# --- the shape of the dialect ----------------------------------------------------------------------------


def error_object(
    category: str, code: str, description: str, parameters: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "errorCategory": category,
        "errorCode": code,
        "errorDescription": description,
        "errorDateTime": iso_millis(utc_now()),
    }
    if parameters:
        body["errorParameters"] = parameters
    return body


def _failure_object(payment: Payment, failure: FailureCode) -> dict[str, Any]:
    category, code, template = _FAILURES[failure]
    parameters = None
    if failure is FailureCode.RECIPIENT_NOT_FOUND:
        parameters = [{"key": "creditParty.msisdn", "value": payment.msisdn}]
    return error_object(category, code, template.format(msisdn=payment.msisdn), parameters)


def _put(url: str, correlation_id: str, body: dict[str, Any]) -> Callback:
    raw = orjson.dumps(body)
    headers = {
        "Content-Type": "application/json",
        "X-Date": iso_millis(utc_now()),
        "X-CorrelationID": correlation_id,
        "X-Content-Hash": hashlib.sha256(raw).hexdigest(),
    }
    return Callback(url=url, method="PUT", body=raw, headers=headers)


def _receipt(payment: Payment) -> str:
    """`MP250314.0900.000481`: date, hour and minute of creation, the reference's tail."""
    at = payment.created_at
    return f"MP{yymmdd(at)}.{at.hour:02d}{at.minute:02d}.{payment.provider_ref[-6:]}"


def _status(payment: Payment) -> str:
    return {"pending": "pending", "succeeded": "completed", "failed": "failed", "reversed": "reversed"}[
        payment.status
    ]


def _date_header() -> dict[str, str]:
    return {"X-Date": iso_millis(utc_now())}


def _correlation(request: Request) -> tuple[str, str | None]:
    correlation_id = request.headers.get("X-CorrelationID")
    callback_url = request.headers.get("X-Callback-URL")
    if not correlation_id:
        raise GsmaError(
            "validation",
            "mandatoryValueNotSupplied",
            "X-CorrelationID header is required",
            _param("X-CorrelationID"),
        )
    if len(correlation_id) > 256:
        raise GsmaError("validation", "lengthError", "X-CorrelationID is too long", _param("X-CorrelationID"))
    if callback_url is not None and not callback_url.startswith(("http://", "https://")):
        raise GsmaError("validation", "formatError", "X-Callback-URL is not a URL", _param("X-Callback-URL"))
    return correlation_id, callback_url


async def _body(request: Request) -> dict[str, Any]:
    try:
        return await json_body(request)
    except UnreadableBody as error:
        raise GsmaError("validation", "formatError", str(error)) from error


def _transaction(raw: dict[str, Any]) -> tuple[dict[str, Any], TransactionIn]:
    try:
        transaction = TransactionIn.model_validate(raw)
    except ValidationError as error:
        raise _validation_error(error) from error
    if not _AMOUNT.match(transaction.amount):
        raise GsmaError(
            "validation", "formatError", "amount does not match the amount pattern", _param("amount")
        )
    if transaction.currency != "XOF":
        raise GsmaError("validation", "currencyNotSupported", "Only XOF is supported", _param("currency"))
    if "." in transaction.amount:
        raise GsmaError("validation", "formatError", "XOF amounts have no decimals", _param("amount"))
    if int(transaction.amount) <= 0:
        raise GsmaError("validation", "negativeValue", "amount must be positive", _param("amount"))
    return raw, transaction


def _validation_error(error: ValidationError) -> GsmaError:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    code = "mandatoryValueNotSupplied" if first["type"] == "missing" else "formatError"
    return GsmaError("validation", code, f"{where}: {first['msg']}", _param(where))


def _duplicate(correlation_id: str) -> GsmaError:
    return GsmaError(
        "businessRule",
        "duplicateRequest",
        f"A request with client correlation id {correlation_id} was already received",
        _param("X-CorrelationID", correlation_id),
    )


def _unknown(key: str, value: str) -> GsmaError:
    return GsmaError(
        "identification", "identifierError", f"No resource with {key} {value}", _param(key, value)
    )


def _param(key: str, value: str = "") -> list[dict[str, str]]:
    return [{"key": key, "value": value}] if value else [{"key": key}]


def _msisdn(parties: list[Party]) -> str:
    for party in parties:
        if party.key == "msisdn":
            return party.value
    return parties[0].value


def _name(parties: list[Party]) -> str:
    for party in parties:
        if party.key in ("name", "fullName", "accountName"):
            return party.value
    return ""


def _parse_rejection(item: dict[str, Any], error: GsmaError, at: datetime) -> dict[str, Any]:
    rejection: dict[str, Any] = {}
    reference = item.get("requestingOrganisationTransactionReference")
    if isinstance(reference, str):
        rejection["requestingOrganisationTransactionReference"] = reference
    for key in ("creditParty", "debitParty"):
        if key in item:
            rejection[key] = item[key]
    rejection["rejectionReason"] = f"{error.body['errorCode']}: {error.body['errorDescription']}"
    rejection["rejectionDate"] = iso_millis(at)
    return rejection


def _completions(batch: Batch) -> list[dict[str, Any]]:
    items = []
    for payment in batch.payments:
        if payment.status not in ("succeeded", "reversed") or payment.finalised_at is None:
            continue
        item: dict[str, Any] = {"transactionReference": payment.provider_ref}
        if payment.echo.get("ours"):
            item["requestingOrganisationTransactionReference"] = payment.our_reference
        item |= {key: payment.echo[key] for key in ("creditParty", "debitParty") if key in payment.echo}
        item["completionDate"] = iso_millis(payment.finalised_at)
        item["link"] = f"/transactions/{payment.provider_ref}"
        items.append(item)
    return items


def _rejections(batch: Batch) -> list[dict[str, Any]]:
    items = list(batch.parse_rejections)
    for payment in batch.payments:
        if payment.status != "failed" or payment.failure is None or payment.finalised_at is None:
            continue
        error = _failure_object(payment, payment.failure)
        item: dict[str, Any] = {"transactionReference": payment.provider_ref}
        if payment.echo.get("ours"):
            item["requestingOrganisationTransactionReference"] = payment.our_reference
        item |= {key: payment.echo[key] for key in ("creditParty", "debitParty") if key in payment.echo}
        item["rejectionReason"] = f"{error['errorCode']}: {error['errorDescription']}"
        item["rejectionDate"] = iso_millis(payment.finalised_at)
        items.append(item)
    return items


def _paging(request: Request) -> tuple[int, int, str, str]:
    """limit (default 50), offset, and the fromDateTime/toDateTime window as comparable GSMA timestamps."""
    query = request.query_params
    try:
        limit = int(query.get("limit", "50"))
        offset = int(query.get("offset", "0"))
    except ValueError as error:
        raise GsmaError("validation", "invalidOffset", "limit and offset must be integers") from error
    if limit < 1 or offset < 0:
        raise GsmaError("validation", "invalidOffset", "limit must be positive and offset not negative")
    since, until = query.get("fromDateTime"), query.get("toDateTime")
    try:
        low = iso_millis(datetime.fromisoformat(since)) if since else ""
        high = iso_millis(datetime.fromisoformat(until)) if until else "~"
    except ValueError as error:
        raise GsmaError("validation", "formatError", "fromDateTime/toDateTime must be ISO 8601") from error
    return limit, offset, low, high
