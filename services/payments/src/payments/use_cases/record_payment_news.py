"""Apply what happened to payments (sends, answers, callbacks, status queries) through the state machine, in bulk.

Every payment named is locked (`FOR UPDATE`, in id order), rebuilt as a domain `Payment`, moved by its news in
order, written back in one statement, its transitions and refusals added to its history, and the resulting
facts published in batches: `payments.sent|confirmed|failed|in_doubt|reversed|status_conflicted`. A payment
the news leaves as it was is not written; one sent on its own whose only change is to await a status query
(an unsigned callback's word) is queued for the query instead (`query_due`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from payments.db.payments import WRITTEN_COLUMNS
from payments.db.unit_of_work import PaymentsUnitOfWork
from payments.domain.payments import Authenticity, FailureCode, Outcome, OutcomeKind, Payment, PaymentState
from payments.providers.events import ProviderEvent, SendResult
from shared.events.contracts import (
    PaymentOutcome,
    PaymentsConfirmed,
    PaymentsFailed,
    PaymentsInDoubt,
    PaymentsReversed,
    PaymentsSent,
    PaymentsStatusConflicted,
)
from shared.money import xof

#: Items per published event (a cycle of 200,000 payments moves in a few hundred events).
EVENT_BATCH = 1000


@dataclass(frozen=True)
class News:
    """One thing to apply to a payment: `submit` (about to resend, same key), `in_doubt`, a send answer, evidence."""

    kind: str
    send: SendResult | None = None
    evidence: ProviderEvent | None = None
    batch_ref: str | None = None
    #: Where this piece came from, in the history (e.g. `callback:wave`); else the `source` of the call.
    source: str | None = None


SUBMIT = News("submit")
IN_DOUBT = News("in_doubt")

_EVENT_OF_STATE: dict[PaymentState, type[BaseModel]] = {
    PaymentState.SUBMITTED: PaymentsSent,
    PaymentState.SUCCEEDED: PaymentsConfirmed,
    PaymentState.FAILED: PaymentsFailed,
    PaymentState.REJECTED: PaymentsFailed,
    PaymentState.UNKNOWN: PaymentsInDoubt,
    PaymentState.REVERSED: PaymentsReversed,
}


@dataclass
class Applied:
    """What the news did to one payment."""

    payment_id: UUID
    row: dict[str, Any]
    outcomes: list[Outcome]
    #: The outcomes of each piece of news given, in the order given (a piece may have none, or two).
    per_news: list[list[Outcome]] = field(default_factory=list)

    @property
    def state(self) -> PaymentState:
        return PaymentState(self.row["state"])


#: States and failure codes by their stored value (py-spy sampled the enum calls at ~3 % of the dispatcher;
#: its measured CPU per payment did not move after this).
_STATES = {state.value: state for state in PaymentState}
_FAILURE_CODES = {code.value: code for code in FailureCode}


def domain_payment(row: Mapping[str, Any]) -> Payment:
    return Payment(
        instruction_id=row["instruction_id"],
        amount=xof(int(row["amount"])),
        attempt_no=int(row["attempt_no"]),
        provider_request_key=row["provider_request_key"],
        state=_STATES[row["state"]],
        provider_tx_ref=row["provider_tx_ref"],
        failure_code=_FAILURE_CODES[row["failure_code"]] if row["failure_code"] else None,
    )


def record_payment_news(
    uow: PaymentsUnitOfWork, news: Mapping[UUID, Sequence[News]], *, source: str
) -> dict[UUID, Applied]:
    """Apply `news` per payment id; unknown ids are skipped. Returns what happened to each payment."""
    rows = uow.payments.lock(sorted(news))
    now = datetime.now(UTC)
    history: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    published: dict[tuple[type[BaseModel], UUID], list[PaymentOutcome]] = defaultdict(list)
    applied: dict[UUID, Applied] = {}
    queries: dict[UUID, str] = {}
    for payment_id, row in rows.items():
        payment = domain_payment(row)
        outcomes: list[Outcome] = []
        needs_query = bool(row["needs_query"])
        batch_ref, request_state_ref, fee = row["batch_ref"], row["request_state_ref"], row["fee"]
        per_news: list[list[Outcome]] = []
        for given in news[payment_id]:
            per_news.append([])
            for item in _expanded([given]):
                batch_ref = item.batch_ref or batch_ref
                if item.send is not None and item.send.request_state_ref:
                    request_state_ref = item.send.request_state_ref
                outcome, verified = _apply(payment, item)
                if outcome is None:
                    continue
                outcomes.append(outcome)
                per_news[-1].append(outcome)
                payment = outcome.payment
                if (
                    item.evidence is not None
                    and item.evidence.fee is not None
                    and payment.state is PaymentState.SUCCEEDED
                ):
                    fee = item.evidence.fee
                if outcome.needs_status_query and not verified:
                    needs_query = True
                elif verified:
                    needs_query = False
                if outcome.kind is not OutcomeKind.IGNORED:
                    history.append(_history(payment_id, outcome, given.source or source, now))
                target = _event_for(outcome)
                if target is not None:
                    published[(target, row["cycle_id"])].append(
                        _outcome_item(row, outcome, item.evidence, now)
                    )
        if payment.state is PaymentState.UNKNOWN:
            needs_query = True
        elif payment.state.is_final and not (outcomes and outcomes[-1].kind is OutcomeKind.UNCONFIRMED):
            needs_query = needs_query and bool(outcomes) and outcomes[-1].kind is OutcomeKind.UNCONFIRMED
        new_row = dict(
            row,
            state=payment.state.value,
            provider_tx_ref=payment.provider_tx_ref,
            failure_code=payment.failure_code.value if payment.failure_code else None,
            request_state_ref=request_state_ref,
            batch_ref=batch_ref,
            fee=fee,
            needs_query=needs_query,
        )
        if new_row["state"] != row["state"]:  # the common case, decided without comparing every column
            changes.append(new_row)
        else:
            changed = {column for column in WRITTEN_COLUMNS if new_row[column] != row[column]}
            if changed == {"needs_query"} and needs_query and row["batch_key"] is None and row["provider"]:
                queries[payment_id] = row["provider"]  # the row stays as it is: see `add_due_queries`
            elif changed:
                changes.append(new_row)
        applied[payment_id] = Applied(payment_id, new_row, outcomes, per_news)
    uow.payments.write(changes)
    uow.payments.add_due_queries(queries)
    uow.payments.add_history(history)
    for (model, cycle_id), items in published.items():
        for start in range(0, len(items), EVENT_BATCH):
            uow.publish(
                model(cycle_id=cycle_id, items=items[start : start + EVENT_BATCH]), subject=str(cycle_id)
            )
    return applied


def _expanded(items: Sequence[News]) -> list[News]:
    """A send answer that carries a result (a synchronous answer, a duplicate looked up) is two pieces of news."""
    expanded: list[News] = []
    for item in items:
        expanded.append(item)
        if item.send is not None and item.send.event is not None:
            expanded.append(News("evidence", evidence=item.send.event))
    return expanded


def _apply(payment: Payment, item: News) -> tuple[Outcome | None, bool]:
    """The outcome of one piece of news, and whether it came from an authenticated source."""
    if item.kind == "submit":
        return payment.start_submission(), False
    if item.kind == "in_doubt":
        return payment.mark_in_doubt(), False
    if item.send is not None:
        outcome = payment.record_send_result(item.send.status, item.send.failure_code)
        reference = item.send.provider_tx_ref
        if outcome.kind is OutcomeKind.TRANSITIONED and reference and outcome.payment.provider_tx_ref is None:
            outcome = replace(outcome, payment=outcome.payment.known_as(reference))
        return outcome, False
    if item.evidence is not None:
        if item.evidence.status is PaymentState.UNKNOWN:
            return None, False
        verified = item.evidence.authenticity is not Authenticity.UNAUTHENTICATED
        return payment.apply(item.evidence), verified
    return None, False


def _event_for(outcome: Outcome) -> type[BaseModel] | None:
    if outcome.kind is OutcomeKind.CONFLICT:
        return PaymentsStatusConflicted
    if outcome.kind is not OutcomeKind.TRANSITIONED:
        return None
    return _EVENT_OF_STATE.get(outcome.state)


def _history(payment_id: UUID, outcome: Outcome, source: str, at: datetime) -> dict[str, Any]:
    reason = outcome.reason + (f" [{outcome.discrepancy}]" if outcome.discrepancy else "")
    return {
        "payment_id": payment_id,
        "from_state": outcome.previous.value,
        "to_state": outcome.state.value,
        "outcome": outcome.kind.value,
        "reason": reason[:1000],
        "source": source,
        "at": at,
    }


def _outcome_item(
    row: Mapping[str, Any], outcome: Outcome, evidence: ProviderEvent | None, at: datetime
) -> PaymentOutcome:
    conflict = outcome.kind is OutcomeKind.CONFLICT
    return PaymentOutcome(
        payment_id=row["id"],
        instruction_id=row["reference"],
        state=outcome.state.value,
        provider=row["provider"] or row["modality"],
        provider_tx_ref=outcome.payment.provider_tx_ref or (evidence.provider_tx_ref if evidence else None),
        amount=evidence.amount
        if evidence is not None and evidence.amount is not None and evidence.amount >= 0
        else None,
        fee=evidence.fee if evidence is not None else None,
        failure_code=outcome.payment.failure_code.value if outcome.payment.failure_code else None,
        reported_status=evidence.status.value if conflict and evidence is not None else None,
        authenticity=evidence.authenticity.value if evidence is not None else None,
        at=at,
    )
