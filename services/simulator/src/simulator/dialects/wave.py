"""Wave payouts: create (idempotency-key), view, reverse, and webhooks signed `Wave-Signature: t=…,v1=…`."""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from simulator.behaviour import Dialect, FailureCode
from simulator.callbacks import Callback
from simulator.clock import iso_seconds, utc_now
from simulator.config import WaveSettings
from simulator.ledger import Payment
from simulator.payloads import UnreadableBody, json_body, json_response
from simulator.processor import CONFLICT_FAILURE, CallbackEvent
from simulator.simulation import Simulation

_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
_ID_SPACE = 36**12
_ID_STRIDE = 25_214_903_917  # coprime with 36, so serial -> id is one-to-one

# Wave's payout error codes are not all published (PROVIDERS.md §10): these follow §8.4.
_ERRORS: dict[FailureCode, tuple[str, str]] = {
    FailureCode.RECIPIENT_NOT_FOUND: ("invalid-mobile-number", "The mobile number is not a Wave account"),
    FailureCode.RECIPIENT_BLOCKED: ("blocked-account", "The recipient account is blocked"),
    FailureCode.RECIPIENT_LIMIT: ("recipient-limit", "The recipient would exceed their account limits"),
    FailureCode.NAME_MISMATCH: ("name-mismatch", "Recipient name does not match the Wave account holder"),
    FailureCode.INSUFFICIENT_FUNDS: ("insufficient-funds", "The business wallet has insufficient funds"),
    FailureCode.AMOUNT_OUT_OF_RANGE: ("amount-out-of-range", "The amount is outside the allowed range"),
    FailureCode.PROVIDER_ERROR: ("internal-error", "An internal error occurred"),
    FailureCode.EXPIRED: ("payout-expired", "The payout could not be completed in time"),
}

_EVENT_OF_STATUS = {
    "succeeded": "payout.succeeded",
    "failed": "payout.failed",
    "reversed": "payout.reversed",
    "processing": "payout.processing",
}


class PayoutIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    currency: str
    receive_amount: str = Field(pattern=r"^[1-9][0-9]{0,17}$")
    mobile: str = Field(pattern=r"^\+[1-9][0-9]{6,14}$")
    name: str | None = Field(default=None, max_length=256)
    national_id: str | None = Field(default=None, max_length=64)
    payment_reason: str | None = Field(default=None, max_length=40)
    client_reference: str | None = Field(default=None, max_length=255)
    aggregated_merchant_id: str | None = Field(default=None, max_length=64)


class WaveError(Exception):
    def __init__(self, status_code: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status_code, self.code, self.message = status_code, code, message

    def response(self) -> Response:
        return json_response({"code": self.code, "message": self.message}, self.status_code)


@dataclass(frozen=True, slots=True)
class IdempotentCall:
    body_digest: bytes
    payout_id: str


class WaveDesk:
    """The simulated Wave business API under `/wave/v1`; webhooks go to the configured URL, signed."""

    dialect: Dialect = "wave"

    def __init__(self, simulation: Simulation, settings: WaveSettings) -> None:
        self._simulation = simulation
        self._settings = settings
        self._events = 0  # never reset: consumers deduplicate webhooks on the event id
        self.reset()

    def reset(self) -> None:
        self._by_key: dict[str, IdempotentCall] = {}

    def outage(self, status_code: int) -> Response:
        if status_code == 503:
            return WaveError(503, "service-unavailable", "The service is temporarily unavailable").response()
        return WaveError(500, "internal-server-error", "An internal server error occurred").response()

    def router(self) -> APIRouter:
        router = APIRouter(prefix="/wave/v1", tags=["wave"])
        router.add_api_route("/payout", self.post_payout, methods=["POST"])
        router.add_api_route("/payout/{payout_id}", self.get_payout, methods=["GET"])
        router.add_api_route("/payout/{payout_id}/reverse", self.post_reverse, methods=["POST"])
        return router

    # --- ways in -----------------------------------------------------------------------------------------

    async def post_payout(self, request: Request) -> Response:
        key = request.headers.get("idempotency-key")
        try:
            self._authorised(request)
            raw = await request.body()
            payout = _payout(await json_body(request))
        except WaveError as error:
            return error.response()
        except UnreadableBody as error:
            return WaveError(400, "request-validation-error", str(error)).response()
        admission = await self._simulation.admit(
            self, key=key, reference=payout.client_reference, moves_money=True
        )
        if admission.refusal:
            return admission.refusal
        digest = hashlib.sha256(raw).digest()
        earlier = self._by_key.get(key) if key else None
        if earlier is not None:
            return admission.answer(self._replay(earlier, digest))
        payment = self._payment(payout, key)
        if key:
            self._by_key[key] = IdempotentCall(digest, payment.provider_ref)
        fate = self._simulation.payment_fate(self.dialect, payment.our_reference)
        self._simulation.processor.accept(payment, fate, self)
        return admission.answer(json_response(self._view(payment)))

    async def get_payout(self, request: Request, payout_id: str) -> Response:
        admission = await self._simulation.admit(self)
        if admission.refusal:
            return admission.refusal
        try:
            self._authorised(request)
            payment = self._find(payout_id)
        except WaveError as error:
            return admission.answer(error.response())
        return admission.answer(json_response(self._view(payment)))

    async def post_reverse(self, request: Request, payout_id: str) -> Response:
        """Reverses a succeeded payout (idempotent once reversed); anything else cannot be reversed."""
        try:
            self._authorised(request)
        except WaveError as error:
            return error.response()
        admission = await self._simulation.admit(self, key=f"reverse:{payout_id}", moves_money=True)
        if admission.refusal:
            return admission.refusal
        try:
            payment = self._find(payout_id)
        except WaveError as error:
            return admission.answer(error.response())
        if payment.status == "succeeded":
            self._simulation.processor.undo(payment, "reversal", self)
        elif payment.status != "reversed":
            refused = WaveError(409, "payout-not-reversible", f"A {payment.status} payout cannot be reversed")
            return admission.answer(refused.response())
        return admission.answer(json_response(self._view(payment)))

    # --- callbacks (the processor's notifier) ------------------------------------------------------------

    def callbacks(self, payment: Payment, event: CallbackEvent) -> list[Callback]:
        url = self._settings.webhook_url
        if url is None:
            return []
        if event == "pending":
            data = self._view(payment, status="processing")
        elif event == "conflict":
            data = self._view(payment, status="failed", failure=CONFLICT_FAILURE)
        else:
            data = self._view(payment)
        self._events += 1
        envelope = {
            "id": f"EV_sim_{self._events:010d}",
            "type": _EVENT_OF_STATUS[data["status"]],
            "data": data,
        }
        headers = {"Content-Type": "application/json"}
        return [
            Callback(url=url, method="POST", body=orjson.dumps(envelope), headers=headers, signer=self.sign)
        ]

    def sign(self, body: bytes) -> dict[str, str]:
        """`Wave-Signature: t=<unix>,v1=<hex>`, hex = HMAC-SHA256(secret, t + raw_body)."""
        stamp = str(int(time.time()))
        signed = stamp.encode() + self._settings.signature_separator.encode() + body
        digest = hmac.new(self._settings.webhook_secret.encode(), signed, hashlib.sha256).hexdigest()
        return {"Wave-Signature": f"t={stamp},v1={digest}"}

    # --- the rules of the desk ---------------------------------------------------------------------------

    def _authorised(self, request: Request) -> None:
        authorization = request.headers.get("Authorization")
        if not authorization:
            raise WaveError(401, "missing-auth-header", "The Authorization header is missing")
        scheme, _, key = authorization.partition(" ")
        if scheme.lower() != "bearer" or not key:
            raise WaveError(401, "invalid-auth", "Use `Authorization: Bearer <api key>`")
        if self._settings.api_key is not None and key != self._settings.api_key:
            raise WaveError(401, "no-matching-api-key", "No API key matches the one given")

    def _find(self, payout_id: str) -> Payment:
        payment = self._simulation.ledger.payment(self.dialect, payout_id)
        if payment is None:
            raise WaveError(404, "not-found", f"No payout with id {payout_id}")
        return payment

    def _replay(self, earlier: IdempotentCall, digest: bytes) -> Response:
        """The same key answers with the same payout (as it is now); another body under it is refused."""
        if earlier.body_digest != digest:
            refused = WaveError(
                409, "idempotency-mismatch", "This idempotency-key was used with another request"
            )
            return refused.response()
        payment = self._simulation.ledger.payment(self.dialect, earlier.payout_id)
        assert payment is not None
        return json_response(self._view(payment))

    def _payment(self, payout: PayoutIn, key: str | None) -> Payment:
        serial = self._simulation.ledger.serial()
        payout_id = "pt-" + _base36(serial * _ID_STRIDE % _ID_SPACE)
        amount = int(payout.receive_amount)
        echo = payout.model_dump(
            include={"name", "national_id", "client_reference", "payment_reason", "aggregated_merchant_id"},
            exclude_none=True,
        )
        echo["fee"] = self._simulation.behaviour(self.dialect).fees.on(amount)
        return Payment(
            dialect=self.dialect,
            provider_ref=payout_id,
            request_key=key or payout_id,
            our_reference=payout.client_reference or payout_id,
            msisdn=payout.mobile,
            name=payout.name or "",
            requested_amount=amount,
            created_at=utc_now(),
            echo=echo,
        )

    def _view(
        self, payment: Payment, *, status: str | None = None, failure: FailureCode | None = None
    ) -> dict[str, Any]:
        """The payout object, in the field order of Wave's documentation (and our fixtures)."""
        echo = payment.echo
        shown = status or {"pending": "processing"}.get(payment.status, payment.status)
        body: dict[str, Any] = {
            "id": payment.provider_ref,
            "currency": "XOF",
            "receive_amount": str(payment.reported_amount),
            "fee": str(echo["fee"]),
            "mobile": payment.msisdn,
        }
        for key in ("name", "national_id", "client_reference", "payment_reason", "aggregated_merchant_id"):
            if key in echo:
                body[key] = echo[key]
        body["status"] = shown
        body["timestamp"] = iso_seconds(payment.created_at)
        reason = failure or (payment.failure if shown == "failed" else None)
        if reason is not None:
            code, message = _ERRORS[reason]
            body["payout_error"] = {"error_code": code, "error_message": message}
        return body


def _payout(raw: dict[str, Any]) -> PayoutIn:
    try:
        payout = PayoutIn.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise WaveError(400, "request-validation-error", f"{where}: {first['msg']}") from error
    if payout.currency != "XOF":
        raise WaveError(400, "request-validation-error", "currency: only XOF is supported")
    return payout


def _base36(number: int) -> str:
    digits = []
    for _ in range(12):
        number, digit = divmod(number, 36)
        digits.append(_BASE36[digit])
    return "".join(reversed(digits))
