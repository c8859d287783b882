"""Process callbacks from the inbox in batches: match, drop duplicates, apply in bulk (idempotent, monotonic).

Pending rows (`outcome IS NULL`) are claimed in arrival order (`FOR UPDATE SKIP LOCKED`, so several processors
share the work). Unsigned providers (GSMA, MTN) are matched by the unguessable key in the path and can only move
a payment to SUBMITTED or PENDING; anything final they say marks the payment for an authenticated status query
(the dispatcher's job). Wave's signature is verified again against the time of receipt and its events apply
directly. Unknown references are kept (`outcome = unknown_reference`) and listed for operators. A GSMA batch
completion queues the batch for its results to be read. Every row is settled in one statement.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from payments.db.unit_of_work import PaymentsUnitOfWork
from payments.domain.payments import Outcome
from payments.providers import gsma, mtn, wave
from payments.providers.events import DiscardedCallback, ProviderEvent, header
from payments.use_cases.record_payment_news import News, record_payment_news


@dataclass(frozen=True)
class _Matched:
    """A readable callback about a known payment, waiting to be applied."""

    row: Mapping[str, Any]
    payment_id: UUID
    event: ProviderEvent


class _Settlements(list[dict[str, Any]]):
    """What became of each claimed callback, written back in one statement."""

    def add(
        self,
        row: Mapping[str, Any],
        outcome: str,
        detail: str | None = None,
        *,
        payment_id: UUID | None = None,
        event_key: str | None = None,
    ) -> None:
        self.append(
            {
                "id": row["id"],
                "outcome": outcome,
                "detail": detail,
                "payment_id": payment_id,
                "event_key": event_key,
            }
        )


def process_pending_callbacks(uow: PaymentsUnitOfWork, *, limit: int, wave_secrets: Sequence[str]) -> int:
    """Claim up to `limit` pending callbacks, apply them with one `record_payment_news`; the number settled."""
    rows = uow.callbacks.claim_pending(limit)
    if not rows:
        return 0
    settled = _Settlements()
    matched = _match(uow, [row for row in rows if not row["batch"]], wave_secrets, settled)
    fresh = _drop_duplicates(uow, matched, settled)
    news: dict[UUID, list[News]] = {}
    for item in fresh:
        source = f"callback:{item.row['provider']}"
        news.setdefault(item.payment_id, []).append(News("evidence", evidence=item.event, source=source))
    applied = record_payment_news(uow, news, source="callback") if news else {}
    position: dict[UUID, int] = {}
    for item in fresh:
        index = position.get(item.payment_id, 0)
        position[item.payment_id] = index + 1
        outcomes: list[Outcome] = (
            applied[item.payment_id].per_news[index] if item.payment_id in applied else []
        )
        detail = "; ".join(f"{o.kind}: {o.reason}" for o in outcomes) or "ignored"
        settled.add(item.row, "applied", detail, payment_id=item.payment_id, event_key=item.event.event_key)
    batches = [(row, _uuid(row["key"])) for row in rows if row["batch"]]
    marked = uow.payments.add_due_batches(key for _, key in batches if key)
    for row, batch_key in batches:
        count = marked.get(batch_key, 0) if batch_key else 0
        outcome = "batch_completed" if count else "unknown_reference"
        settled.add(row, outcome, f"{count} items to collect")
    uow.callbacks.settle_many(settled)
    return len(settled)


def _match(
    uow: PaymentsUnitOfWork,
    rows: Sequence[Mapping[str, Any]],
    wave_secrets: Sequence[str],
    settled: _Settlements,
) -> list[_Matched]:
    """Read each callback and find its payment: by the key in the path (GSMA, MTN), by reference (Wave)."""
    keys = {key for key in (_uuid(row["key"]) for row in rows if row["provider"] != "wave") if key}
    by_key = uow.payments.by_keys(keys)
    readable: list[tuple[Mapping[str, Any], ProviderEvent, Mapping[str, Any] | None]] = []
    for row in rows:
        payment: Mapping[str, Any] | None = None
        if row["provider"] != "wave":
            key = _uuid(row["key"])
            payment = by_key.get(key) if key else None
            if payment is None:
                settled.add(row, "unknown_reference", f"no payment with key {row['key']}")
                continue
            correlation = header(row["headers"], "X-CorrelationID")
            if (
                row["provider"] == "gsma"
                and correlation is not None
                and correlation.strip().lower() != str(payment["provider_request_key"])
            ):
                settled.add(row, "discarded", "X-CorrelationID differs from the path")
                continue
        try:
            parsed = _parse(row, payment, wave_secrets)
        except Exception as error:  # a reader that raises must not hold up the whole inbox
            settled.add(row, "error", f"{type(error).__name__}: {error}")
            continue
        if isinstance(parsed, DiscardedCallback):
            settled.add(row, "discarded", parsed.reason)
            continue
        readable.append((row, parsed, payment))
    by_reference = uow.payments.by_references(
        {event.instruction_id or "" for _, event, payment in readable if payment is None}
    )
    matched: list[_Matched] = []
    for row, event, payment in readable:
        payment_id = payment["id"] if payment is not None else by_reference.get(event.instruction_id or "")
        if payment_id is None:
            settled.add(
                row, "unknown_reference", f"no payment {event.instruction_id}", event_key=event.event_key
            )
            continue
        matched.append(_Matched(row, payment_id, event))
    return matched


def _drop_duplicates(
    uow: PaymentsUnitOfWork, matched: Sequence[_Matched], settled: _Settlements
) -> list[_Matched]:
    """Events already applied, or met earlier in this batch, are settled as duplicates."""
    seen = uow.callbacks.applied_event_keys({item.event.event_key for item in matched})
    fresh: list[_Matched] = []
    for item in matched:
        event_key = item.event.event_key
        if event_key in seen:
            settled.add(item.row, "duplicate", payment_id=item.payment_id, event_key=event_key)
            continue
        seen.add(event_key)
        fresh.append(item)
    return fresh


def _parse(
    row: Mapping[str, Any], payment: Mapping[str, Any] | None, wave_secrets: Sequence[str]
) -> ProviderEvent | DiscardedCallback:
    headers: Mapping[str, str] = row["headers"]
    body = bytes(row["body"])
    if row["provider"] == "wave":
        return wave.parse_callback(
            headers, body, {}, received_at=row["received_at"], secrets=wave_secrets, provider="wave"
        )
    assert payment is not None
    if row["provider"] == "mtn":
        return mtn.parse_callback(
            headers,
            body,
            {mtn.REFERENCE_ID_PARAM: str(payment["provider_request_key"])},
            received_at=row["received_at"],
            provider="mtn",
        )
    return gsma.parse_callback(
        headers,
        body,
        {gsma.REFERENCE_PARAM: payment["reference"]},
        received_at=row["received_at"],
        provider="gsma",
    )


def _uuid(text: str | None) -> UUID | None:
    try:
        return UUID(text) if text else None
    except ValueError:
        return None
