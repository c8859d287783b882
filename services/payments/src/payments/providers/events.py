"""The canonical shapes every adapter speaks (PROVIDERS.md §8.3), and the lenient readers they normalise through.

Readers never raise on what a provider sends: a value that cannot be read becomes `None`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import httpx
import orjson

from payments.domain.payments import Authenticity, FailureCode, PaymentState
from shared.money import XOF, Currency

#: The default timeouts of every provider call: connecting is quick or broken; a disbursement may be slow.
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)


@dataclass(frozen=True)
class Instruction:
    """One attempt of a payment as an adapter sends it; `reference` is the attempt's (≤16, SWIFT-X)."""

    reference: str
    provider_request_key: UUID
    amount: int
    payee_msisdn: str
    payee_name: str | None = None
    description: str = ""
    callback_url: str | None = None
    provider_tx_ref: str | None = None
    request_state_ref: str | None = None
    currency: Currency = XOF


@dataclass(frozen=True)
class ProviderEvent:
    """What a provider said about one payment, in canonical terms; `event_key` deduplicates deliveries."""

    event_key: str
    provider: str
    received_at: datetime
    status: PaymentState
    raw_status: str
    authenticity: Authenticity
    instruction_id: str | None = None
    provider_request_key: str | None = None
    provider_tx_ref: str | None = None
    provider_event_time: datetime | None = None
    amount: int | None = None
    currency: str | None = None
    payee: str | None = None
    fee: int | None = None
    failure_code: FailureCode | None = None
    raw_code: str | None = None
    raw_message: str | None = None


@dataclass(frozen=True)
class DiscardedCallback:
    """A callback we store but do not apply (unreadable, badly signed, not about a payment), and the answer."""

    reason: str
    http_status: int


@dataclass(frozen=True)
class SendResult:
    """The answer to a send: SUBMITTED, REJECTED (provably no money moved) or UNKNOWN (in doubt).

    `event` carries what the answer itself said about the transaction (a synchronous result, or the existing
    transaction looked up after a duplicate-key answer): apply it after recording the send result.
    """

    status: PaymentState
    http_status: int | None = None
    failure_code: FailureCode | None = None
    raw_code: str | None = None
    raw_message: str | None = None
    provider_tx_ref: str | None = None
    request_state_ref: str | None = None
    event: ProviderEvent | None = None

    @classmethod
    def in_doubt(
        cls,
        failure_code: FailureCode,
        message: str,
        *,
        http_status: int | None = None,
        raw_code: str | None = None,
    ) -> SendResult:
        return cls(PaymentState.UNKNOWN, http_status, failure_code, raw_code, message[:500])

    @classmethod
    def refused(
        cls, failure_code: FailureCode, *, http_status: int, raw_code: str | None, raw_message: str | None
    ) -> SendResult:
        """A provider's refusal: REJECTED only if the code proves no money moved, else in doubt."""
        status = PaymentState.REJECTED if failure_code.definitive else PaymentState.UNKNOWN
        return cls(status, http_status, failure_code, raw_code, raw_message)

    @classmethod
    def from_transport_error(cls, error: httpx.HTTPError) -> SendResult:
        """No usable answer: a timeout or a broken connection leaves the payment in doubt."""
        code = (
            FailureCode.TIMEOUT
            if isinstance(error, httpx.TimeoutException)
            else FailureCode.PROVIDER_UNAVAILABLE
        )
        return cls.in_doubt(code, f"{type(error).__name__}: {error}")

    @classmethod
    def unreadable(cls, response: httpx.Response) -> SendResult:
        """An answer we cannot read (HTML error page, garbage, unexpected status): in doubt."""
        excerpt = response.content[:200].decode("utf-8", "replace")
        return cls.in_doubt(
            FailureCode.PROVIDER_UNAVAILABLE,
            f"unreadable HTTP {response.status_code} answer: {excerpt}",
            http_status=response.status_code,
        )


def json_object(raw: bytes) -> dict[str, Any] | None:
    """The JSON object in `raw`, or None (not JSON, not an object, not UTF-8)."""
    try:
        value = orjson.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def text_of(mapping: Mapping[str, Any], *keys: str) -> str | None:
    """The first of `keys` holding a non-empty string (or a number, as text)."""
    for key in keys:
        value = mapping.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
    return None


def object_of(mapping: Mapping[str, Any], key: str) -> dict[str, Any]:
    """The JSON object under `key`, or an empty one."""
    value = mapping.get(key)
    return value if isinstance(value, dict) else {}


_WHOLE_FRANCS = re.compile(r"^\d{1,15}(?:\.0+)?$")


def xof_amount(value: object) -> int | None:
    """Whole francs from `30000`, `"30000"` or `"30000.00"`; None for fractions, floats, negatives and garbage."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value >= 0 else None
    if isinstance(value, str) and _WHOLE_FRANCS.match(value.strip()):
        return int(value.strip().split(".")[0])
    return None


def timestamp(value: object) -> datetime | None:
    """An ISO 8601 time as aware UTC; a time without offset is read as UTC (Bamako is UTC+0, no DST)."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A request header, whatever the case of its name."""
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)
