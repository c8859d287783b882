"""A provider callback: kept raw first, then verified, matched to its payment and applied (idempotent, monotonic).

Unsigned providers (GSMA, MTN) are matched by the unguessable key in the path and can only move a payment to
SUBMITTED or PENDING; anything final they say marks the payment for an authenticated status query (the
dispatcher's job). Wave's signature is verified (tolerance, several secrets) and its events apply directly.
Unknown references are kept (`outcome = unknown_reference`) and acknowledged, and listed for operators.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from payments.db.unit_of_work import PaymentsUnitOfWork
from payments.providers import gsma, mtn, wave
from payments.providers.events import DiscardedCallback, ProviderEvent, header
from payments.use_cases.record_payment_news import News, record_payment_news

ACK_STATUS = {
    "gsma": gsma.CALLBACK_ACK_STATUS,
    "mtn": mtn.CALLBACK_ACK_STATUS,
    "wave": wave.CALLBACK_ACK_STATUS,
}


@dataclass(frozen=True)
class InboundCallback:
    provider: str
    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    received_at: datetime
    key: str | None = None
    batch: bool = False


def store_raw_callback(
    uow: PaymentsUnitOfWork, callback: InboundCallback, *, outcome: str, detail: str
) -> None:
    """Keep a callback whose processing failed (the caller's first transaction rolled back)."""
    callback_id = _store(uow, callback)
    uow.callbacks.settle(callback_id, outcome=outcome, detail=detail)


def record_callback(
    uow: PaymentsUnitOfWork, callback: InboundCallback, *, wave_secrets: Sequence[str]
) -> int:
    """Store, verify, match and apply one callback; returns the HTTP status to answer with."""
    callback_id = _store(uow, callback)
    ack = ACK_STATUS[callback.provider]
    if callback.batch:
        key = _uuid(callback.key)
        marked = uow.payments.mark_batch_for_query(key) if key else 0
        uow.callbacks.settle(
            callback_id,
            outcome="batch_completed" if marked else "unknown_reference",
            detail=f"{marked} items to collect",
        )
        return ack
    payment: dict[str, Any] | None = None
    if callback.provider in {"gsma", "mtn"}:
        key = _uuid(callback.key)
        payment = uow.payments.by_key(key) if key else None
        if payment is None:
            uow.callbacks.settle(
                callback_id, outcome="unknown_reference", detail=f"no payment with key {callback.key}"
            )
            return ack
        correlation = header(callback.headers, "X-CorrelationID")
        if (
            callback.provider == "gsma"
            and correlation is not None
            and correlation != str(payment["provider_request_key"])
        ):
            uow.callbacks.settle(
                callback_id, outcome="discarded", detail="X-CorrelationID differs from the path"
            )
            return 400
    parsed = _parse(callback, payment, wave_secrets)
    if isinstance(parsed, DiscardedCallback):
        uow.callbacks.settle(callback_id, outcome="discarded", detail=parsed.reason)
        return parsed.http_status if parsed.http_status >= 400 else ack
    if payment is None:
        payment = uow.payments.by_reference(parsed.instruction_id or "")
        if payment is None:
            uow.callbacks.settle(
                callback_id,
                outcome="unknown_reference",
                detail=f"no payment {parsed.instruction_id}",
                event_key=parsed.event_key,
            )
            return ack
    payment_id = payment["id"]
    uow.payments.lock([payment_id])
    if uow.callbacks.already_applied(parsed.event_key):
        uow.callbacks.settle(
            callback_id, outcome="duplicate", payment_id=payment_id, event_key=parsed.event_key
        )
        return ack
    applied = record_payment_news(
        uow, {payment_id: [News("evidence", evidence=parsed)]}, source=f"callback:{callback.provider}"
    )
    outcomes = applied[payment_id].outcomes
    detail = "; ".join(f"{o.kind}: {o.reason}" for o in outcomes) or "ignored"
    uow.callbacks.settle(
        callback_id, outcome="applied", detail=detail, payment_id=payment_id, event_key=parsed.event_key
    )
    return ack


def _store(uow: PaymentsUnitOfWork, callback: InboundCallback) -> int:
    return uow.callbacks.store(
        provider=callback.provider,
        method=callback.method,
        path=callback.path,
        headers=callback.headers,
        body=callback.body,
    )


def _parse(
    callback: InboundCallback, payment: Mapping[str, Any] | None, wave_secrets: Sequence[str]
) -> ProviderEvent | DiscardedCallback:
    if callback.provider == "wave":
        return wave.parse_callback(
            callback.headers,
            callback.body,
            {},
            received_at=callback.received_at,
            secrets=wave_secrets,
            provider="wave",
        )
    assert payment is not None
    if callback.provider == "mtn":
        return mtn.parse_callback(
            callback.headers,
            callback.body,
            {mtn.REFERENCE_ID_PARAM: str(payment["provider_request_key"])},
            received_at=callback.received_at,
            provider="mtn",
        )
    return gsma.parse_callback(
        callback.headers,
        callback.body,
        {gsma.REFERENCE_PARAM: payment["reference"]},
        received_at=callback.received_at,
        provider="gsma",
    )


def _uuid(text: str | None) -> UUID | None:
    try:
        return UUID(text) if text else None
    except ValueError:
        return None
