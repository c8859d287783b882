"""MTN MoMo Disbursement v1_0: token, transfer keyed by X-Reference-Id, status query, PUT/POST callbacks."""

from __future__ import annotations

import base64
import binascii
import secrets
import time
import uuid
from typing import Any, Literal

import orjson
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from simulator.behaviour import Dialect, FailureCode
from simulator.callbacks import Callback
from simulator.clock import utc_now
from simulator.config import MtnSettings
from simulator.ledger import Payment
from simulator.payloads import UnreadableBody, json_body, json_response
from simulator.processor import CONFLICT_FAILURE, CallbackEvent
from simulator.simulation import Simulation

_REASONS: dict[FailureCode, tuple[str, str]] = {
    FailureCode.RECIPIENT_NOT_FOUND: ("PAYEE_NOT_FOUND", "Payee does not exist"),
    FailureCode.RECIPIENT_BLOCKED: ("PAYEE_NOT_ALLOWED_TO_RECEIVE", "Payee is not allowed to receive"),
    FailureCode.RECIPIENT_LIMIT: ("PAYER_LIMIT_REACHED", "Limit reached"),
    FailureCode.NAME_MISMATCH: ("NOT_ALLOWED", "Authorization failed"),
    FailureCode.INSUFFICIENT_FUNDS: ("NOT_ENOUGH_FUNDS", "Not enough funds"),
    FailureCode.AMOUNT_OUT_OF_RANGE: ("NOT_ALLOWED", "Amount is outside the allowed range"),
    FailureCode.PROVIDER_ERROR: ("INTERNAL_PROCESSING_ERROR", "An internal error occurred"),
    FailureCode.EXPIRED: ("EXPIRED", "The transaction expired"),
}


class Payee(BaseModel):
    model_config = ConfigDict(extra="forbid")

    party_id_type: Literal["MSISDN", "EMAIL", "PARTY_CODE"] = Field(alias="partyIdType")
    party_id: str = Field(alias="partyId", min_length=1, max_length=256)


class TransferIn(BaseModel):
    model_config = ConfigDict(extra="allow")

    amount: str = Field(pattern=r"^[1-9][0-9]{0,17}$")
    currency: str
    external_id: str = Field(alias="externalId", min_length=1, max_length=256)
    payee: Payee
    payer_message: str | None = Field(default=None, alias="payerMessage", max_length=160)
    payee_note: str | None = Field(default=None, alias="payeeNote", max_length=160)


class MtnError(Exception):
    def __init__(self, status_code: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status_code, self.code, self.message = status_code, code, message

    def response(self) -> Response:
        return json_response({"code": self.code, "message": self.message}, self.status_code)


class MtnDesk:
    """The simulated MoMo disbursement product, under `/mtn/disbursement`. Callbacks carry no X-Reference-Id."""

    dialect: Dialect = "mtn"

    def __init__(self, simulation: Simulation, settings: MtnSettings) -> None:
        self._simulation = simulation
        self._settings = settings
        self.reset()

    def reset(self) -> None:
        self._tokens: dict[str, float] = {}
        self._transfers: dict[str, Payment] = {}

    def outage(self, status_code: int) -> Response:
        if status_code == 503:
            return MtnError(503, "SERVICE_UNAVAILABLE", "Service unavailable").response()
        return MtnError(500, "INTERNAL_PROCESSING_ERROR", "An internal error occurred").response()

    def router(self) -> APIRouter:
        router = APIRouter(prefix="/mtn/disbursement", tags=["mtn"])
        router.add_api_route("/token/", self.post_token, methods=["POST"])
        router.add_api_route("/v1_0/transfer", self.post_transfer, methods=["POST"])
        router.add_api_route("/v1_0/transfer/{reference_id}", self.get_transfer, methods=["GET"])
        return router

    # --- ways in -----------------------------------------------------------------------------------------

    async def post_token(self, request: Request) -> Response:
        admission = await self._simulation.admit(self)
        if admission.refusal:
            return admission.refusal
        try:
            _subscribed(request)
            self._authenticate(request.headers.get("Authorization", ""))
        except MtnError as error:
            return admission.answer(error.response())
        token = secrets.token_urlsafe(32)
        self._tokens[token] = time.monotonic() + self._settings.token_ttl_seconds
        body = {
            "access_token": token,
            "token_type": "access_token",
            "expires_in": self._settings.token_ttl_seconds,
        }
        return admission.answer(json_response(body))

    async def post_transfer(self, request: Request) -> Response:
        try:
            self._authorised(request)
            reference_id = _reference_id(request)
            callback_url = request.headers.get("X-Callback-Url")
            transfer = _transfer(await json_body(request))
        except MtnError as error:
            return error.response()
        except UnreadableBody as error:
            return MtnError(400, "BAD_REQUEST", str(error)).response()
        admission = await self._simulation.admit(
            self, key=reference_id, reference=transfer.external_id, moves_money=True
        )
        if admission.refusal:
            return admission.refusal
        if reference_id in self._transfers:
            duplicate = MtnError(
                409, "RESOURCE_ALREADY_EXIST", "Duplicated reference id. Creation of resource failed."
            )
            return admission.answer(duplicate.response())
        payment = self._payment(reference_id, transfer, callback_url)
        self._transfers[reference_id] = payment
        fate = self._simulation.payment_fate(self.dialect, payment.our_reference)
        self._simulation.processor.accept(payment, fate, self)
        return admission.answer(Response(status_code=202))

    async def get_transfer(self, request: Request, reference_id: str) -> Response:
        admission = await self._simulation.admit(self)
        if admission.refusal:
            return admission.refusal
        try:
            self._authorised(request)
        except MtnError as error:
            return admission.answer(error.response())
        payment = self._transfers.get(reference_id)
        if payment is None:
            missing = MtnError(404, "RESOURCE_NOT_FOUND", "Requested resource was not found.")
            return admission.answer(missing.response())
        return admission.answer(json_response(self._view(payment, _status(payment))))

    # --- callbacks (the processor's notifier) ------------------------------------------------------------

    def callbacks(self, payment: Payment, event: CallbackEvent) -> list[Callback]:
        """MTN calls back once final; it has no reversal callback (a reversal shows only in statements)."""
        if payment.callback_url is None or event == "reversed":
            return []
        if event == "pending":
            body = self._view(payment, "PENDING")
        elif event == "conflict":
            body = self._view(payment, "FAILED", CONFLICT_FAILURE)
        else:
            body = self._view(payment, _status(payment))
        raw = orjson.dumps(body)
        headers = {"Content-Type": "application/json"}
        return [Callback(url=payment.callback_url, method=self._method(payment), body=raw, headers=headers)]

    # --- the rules of the desk ---------------------------------------------------------------------------

    def _authenticate(self, authorization: str) -> None:
        scheme, _, encoded = authorization.partition(" ")
        if scheme.lower() != "basic" or not encoded:
            raise MtnError(401, "UNAUTHORIZED", "Basic authentication with the API user and key is required")
        try:
            user, _, key = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError) as error:
            raise MtnError(401, "UNAUTHORIZED", "Malformed Basic credentials") from error
        expected = (self._settings.api_user, self._settings.api_key)
        if expected != (None, None) and (user, key) != expected:
            raise MtnError(401, "UNAUTHORIZED", "Invalid API user or key")

    def _authorised(self, request: Request) -> None:
        _subscribed(request)
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        expiry = self._tokens.get(token) if scheme.lower() == "bearer" else None
        if expiry is None or expiry < time.monotonic():
            raise MtnError(401, "UNAUTHORIZED", "Access token is missing, invalid or expired")
        if not request.headers.get("X-Target-Environment"):
            raise MtnError(400, "NOT_ALLOWED_TARGET_ENVIRONMENT", "X-Target-Environment header is required")

    def _payment(self, reference_id: str, transfer: TransferIn, callback_url: str | None) -> Payment:
        payee = {"partyIdType": transfer.payee.party_id_type, "partyId": transfer.payee.party_id}
        echo: dict[str, Any] = {"payee": payee}
        if transfer.payer_message is not None:
            echo["payerMessage"] = transfer.payer_message
        if transfer.payee_note is not None:
            echo["payeeNote"] = transfer.payee_note
        party = transfer.payee.party_id
        return Payment(
            dialect=self.dialect,
            provider_ref=str(2_000_000_000 + self._simulation.ledger.serial()),
            request_key=reference_id,
            our_reference=transfer.external_id,
            msisdn=f"+{party}" if transfer.payee.party_id_type == "MSISDN" else party,
            name="",
            requested_amount=int(transfer.amount),
            created_at=utc_now(),
            callback_url=callback_url,
            echo=echo,
        )

    def _view(self, payment: Payment, status: str, failure: FailureCode | None = None) -> dict[str, Any]:
        """The GET representation; callbacks carry exactly this (no X-Reference-Id)."""
        body: dict[str, Any] = {}
        if status == "SUCCESSFUL":
            body["financialTransactionId"] = payment.provider_ref
        body["externalId"] = payment.our_reference
        body["amount"] = str(payment.reported_amount)
        body["currency"] = "XOF"
        body |= payment.echo
        body["status"] = status
        reason = failure or (payment.failure if status == "FAILED" else None)
        if reason is not None:
            code, message = _REASONS[reason]
            body["reason"] = (
                code if self._settings.reason_as == "string" else {"code": code, "message": message}
            )
        return body

    def _method(self, payment: Payment) -> str:
        if self._settings.callback_method == "mixed":
            return "POST" if int(payment.provider_ref) % 2 else "PUT"
        return self._settings.callback_method


def _status(payment: Payment) -> str:
    """MoMo knows no reversal: a reversed transfer still reads SUCCESSFUL."""
    return {"pending": "PENDING", "succeeded": "SUCCESSFUL", "failed": "FAILED", "reversed": "SUCCESSFUL"}[
        payment.status
    ]


def _subscribed(request: Request) -> None:
    if not request.headers.get("Ocp-Apim-Subscription-Key"):
        raise MtnError(
            401,
            "ACCESS_DENIED",
            "Access denied due to missing subscription key. Make sure to include subscription key when making "
            "requests to an API.",
        )


def _reference_id(request: Request) -> str:
    value = request.headers.get("X-Reference-Id", "")
    try:
        parsed = uuid.UUID(value)
    except ValueError as error:
        raise MtnError(400, "BAD_REQUEST", "X-Reference-Id must be a UUID version 4") from error
    if parsed.version != 4 or str(parsed) != value.lower():
        raise MtnError(400, "BAD_REQUEST", "X-Reference-Id must be a UUID version 4")
    return value


def _transfer(raw: dict[str, Any]) -> TransferIn:
    try:
        transfer = TransferIn.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise MtnError(400, "BAD_REQUEST", f"{where}: {first['msg']}") from error
    if transfer.currency != "XOF":
        raise MtnError(400, "INVALID_CURRENCY", "Currency not supported.")
    for text in (transfer.payer_message, transfer.payee_note):
        if text is not None and "'" in text:
            raise MtnError(400, "BAD_REQUEST", "payerMessage and payeeNote may not contain apostrophes")
    return transfer
