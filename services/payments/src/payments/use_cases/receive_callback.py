"""Receive a provider callback: the checks that need no database, one durable insert into the inbox, the answer.

Nothing is matched or applied here (`process_pending_callbacks` does that from the inbox, in batches). A Wave
webhook whose signature is bad or stale, or whose body cannot be read, is kept as `discarded` and refused as
today; a GSMA callback whose `X-CorrelationID` differs from the key in its path is kept as `discarded` and
answered 400. Everything else is kept pending and acknowledged (GSMA 204, MTN and Wave 200).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from payments.db.inbox import CallbackInbox
from payments.providers import gsma, mtn, wave
from payments.providers.events import DiscardedCallback, header

ACK_STATUS = {
    "gsma": gsma.CALLBACK_ACK_STATUS,
    "mtn": mtn.CALLBACK_ACK_STATUS,
    "wave": wave.CALLBACK_ACK_STATUS,
}


@dataclass(frozen=True)
class InboundCallback:
    """A callback as it arrived: who sent it, where, its headers and bytes, and the key its path holds."""

    provider: str
    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    received_at: datetime
    key: str | None = None
    batch: bool = False


@dataclass(frozen=True)
class Verdict:
    """What receipt decided: the answer, and `outcome` None (pending) or `discarded` with its reason."""

    status: int
    outcome: str | None = None
    detail: str | None = None


def check_callback(callback: InboundCallback, *, wave_secrets: Sequence[str]) -> Verdict:
    """The checks that need no database: Wave's signature and readability, GSMA's correlation id."""
    ack = ACK_STATUS[callback.provider]
    if callback.provider == "wave":
        parsed = wave.parse_callback(
            callback.headers, callback.body, {}, received_at=callback.received_at, secrets=wave_secrets
        )
        if isinstance(parsed, DiscardedCallback):
            status = parsed.http_status if parsed.http_status >= 400 else ack
            return Verdict(status, "discarded", parsed.reason)
        return Verdict(ack)
    if callback.provider == "gsma" and not callback.batch and callback.key is not None:
        correlation = header(callback.headers, "X-CorrelationID")
        if correlation is not None and correlation.strip().lower() != callback.key.lower():
            return Verdict(400, "discarded", "X-CorrelationID differs from the path")
    return Verdict(ack)


async def receive_callback(
    inbox: CallbackInbox, callback: InboundCallback, *, wave_secrets: Sequence[str]
) -> int:
    """Check, keep durably (pending unless discarded), and return the HTTP status to answer with."""
    verdict = check_callback(callback, wave_secrets=wave_secrets)
    await inbox.store(
        provider=callback.provider,
        method=callback.method,
        path=callback.path,
        headers=callback.headers,
        body=callback.body,
        received_at=callback.received_at,
        key=callback.key,
        batch=callback.batch,
        outcome=verdict.outcome,
        detail=verdict.detail,
    )
    return verdict.status
