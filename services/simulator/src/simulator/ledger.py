"""The ledger: what the simulator really did — payments, money movements per account, incidents, callbacks."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from simulator.behaviour import DIALECTS, Dialect, FailureCode, IncidentKind
from simulator.clock import utc_now, yymmdd
from simulator.config import Account

PaymentStatus = Literal["pending", "succeeded", "failed", "reversed"]
MovementKind = Literal["funding", "payment", "failure", "reversal"]
Undoing = Literal["reversal", "return"]


@dataclass(slots=True, eq=False)
class CallbackRecord:
    """One callback the simulator emitted (or tried to): what it said, where, and how delivery went."""

    label: str
    url: str
    method: str
    scheduled_at: datetime
    attempts: int = 0
    delivered_at: datetime | None = None
    status_code: int | None = None
    error: str | None = None

    def view(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "url": self.url,
            "method": self.method,
            "scheduled_at": _iso(self.scheduled_at),
            "attempts": self.attempts,
            "delivered": self.delivered_at is not None,
            "delivered_at": _iso(self.delivered_at),
            "status_code": self.status_code,
            "error": self.error,
        }


@dataclass(slots=True, eq=False)
class Payment:
    """One payment request the provider accepted, and what became of it."""

    dialect: Dialect
    provider_ref: str
    request_key: str
    our_reference: str
    msisdn: str
    name: str
    requested_amount: int
    created_at: datetime
    batch_id: str | None = None
    callback_url: str | None = None
    echo: dict[str, Any] = field(default_factory=dict)
    status: PaymentStatus = "pending"
    paid_amount: int = 0
    reported_amount: int = 0
    fee: int = 0
    failure: FailureCode | None = None
    finalised_at: datetime | None = None
    undoing: Undoing | None = None
    undone_at: datetime | None = None
    undo_ref: str | None = None
    callbacks: list[CallbackRecord] = field(default_factory=list)

    @property
    def modified_at(self) -> datetime:
        return self.undone_at or self.finalised_at or self.created_at

    def view(self) -> dict[str, Any]:
        return {
            "dialect": self.dialect,
            "provider_reference": self.provider_ref,
            "request_key": self.request_key,
            "our_reference": self.our_reference,
            "batch_id": self.batch_id,
            "msisdn": self.msisdn,
            "name": self.name,
            "currency": "XOF",
            "requested_amount": self.requested_amount,
            "paid_amount": self.paid_amount,
            "reported_amount": self.reported_amount,
            "fee": self.fee,
            "status": self.status,
            "failure": self.failure,
            "undoing": self.undoing,
            "undo_reference": self.undo_ref,
            "created_at": _iso(self.created_at),
            "finalised_at": _iso(self.finalised_at),
            "undone_at": _iso(self.undone_at),
            "callbacks": [record.view() for record in self.callbacks],
        }


@dataclass(slots=True, eq=False)
class Movement:
    """One line on the provider account: funding in, a payment (and its fee) out, a failure, a reversal in."""

    kind: MovementKind
    booked_at: datetime
    amount: int
    fee: int
    balance_after: int
    reference: str
    service_ref: str
    counterparty: str
    payment: Payment | None = None

    @property
    def effect(self) -> int:
        """Signed change of the balance, fee included."""
        if self.kind in ("funding", "reversal"):
            return self.amount
        if self.kind == "payment":
            return -self.amount - self.fee
        return 0


@dataclass(slots=True, frozen=True)
class IncidentRecord:
    """A request answered by an incident instead of its real answer, and whether the payment went through."""

    dialect: Dialect
    kind: IncidentKind
    request_key: str | None
    our_reference: str | None
    executed: bool | None  # None: the request did not move money (a status query)
    at: datetime

    def view(self) -> dict[str, Any]:
        return {
            "dialect": self.dialect,
            "kind": self.kind,
            "request_key": self.request_key,
            "our_reference": self.our_reference,
            "executed": self.executed,
            "at": _iso(self.at),
        }


class Ledger:
    """In-memory books of the simulated providers. Not thread-safe: touched only from the event loop."""

    def __init__(self, accounts: Mapping[Dialect, Account]) -> None:
        self._accounts = dict(accounts)
        self._serial = 0  # never reset: a provider does not hand out the same reference twice
        self.reset()

    def reset(self) -> None:
        self._payments: list[Payment] = []
        self._by_provider_ref: dict[Dialect, dict[str, Payment]] = {d: {} for d in DIALECTS}
        self._by_reference: dict[str, list[Payment]] = {}
        self._times_paid: Counter[str] = Counter()
        self._movements: dict[Dialect, list[Movement]] = {d: [] for d in DIALECTS}
        self._balances: dict[Dialect, int] = {d: self._accounts[d].opening_balance for d in DIALECTS}
        self._incidents: list[IncidentRecord] = []
        for dialect, account in self._accounts.items():
            if account.funding:
                self.fund(dialect, account.funding, account.funding_reference, utc_now())

    def account(self, dialect: Dialect) -> Account:
        return self._accounts[dialect]

    def serial(self) -> int:
        """A number never handed out before, for minting references."""
        self._serial += 1
        return self._serial

    def add(self, payment: Payment) -> None:
        payment.reported_amount = payment.requested_amount
        self._payments.append(payment)
        self._by_provider_ref[payment.dialect][payment.provider_ref] = payment
        self._by_reference.setdefault(payment.our_reference, []).append(payment)

    def payment(self, dialect: Dialect, provider_ref: str) -> Payment | None:
        return self._by_provider_ref[dialect].get(provider_ref)

    def settle(self, payment: Payment, *, paid: int, fee: int, at: datetime) -> bool:
        """Pays `paid` (+ `fee`) from the dialect's account; refuses with INSUFFICIENT_FUNDS when it cannot."""
        dialect = payment.dialect
        if self._balances[dialect] < paid + fee:
            self.fail(payment, FailureCode.INSUFFICIENT_FUNDS, at)
            return False
        payment.status, payment.paid_amount, payment.fee, payment.finalised_at = "succeeded", paid, fee, at
        self._times_paid[payment.our_reference] += 1
        self._book(dialect, "payment", at, paid, fee, payment.our_reference, payment.provider_ref, payment)
        return True

    def fail(self, payment: Payment, code: FailureCode, at: datetime) -> None:
        payment.status, payment.failure, payment.finalised_at = "failed", code, at
        self._book(
            payment.dialect,
            "failure",
            at,
            payment.requested_amount,
            0,
            payment.our_reference,
            payment.provider_ref,
            payment,
        )

    def undo(self, payment: Payment, undoing: Undoing, at: datetime) -> bool:
        """Gives a successful payment's money back to the account (the fee stays charged)."""
        if payment.status != "succeeded":
            return False
        payment.status, payment.undoing, payment.undone_at = "reversed", undoing, at
        payment.undo_ref = f"AN{yymmdd(at)}{self.serial():08d}"
        self._book(
            payment.dialect,
            "reversal",
            at,
            payment.paid_amount,
            0,
            payment.our_reference,
            payment.undo_ref,
            payment,
        )
        return True

    def fund(self, dialect: Dialect, amount: int, reference: str, at: datetime) -> Movement:
        service_ref = f"CI{yymmdd(at)}{self.serial():08d}"
        return self._book(dialect, "funding", at, amount, 0, reference, service_ref, None)

    def record_incident(self, incident: IncidentRecord) -> None:
        self._incidents.append(incident)

    def balance(self, dialect: Dialect) -> int:
        return self._balances[dialect]

    def movements(self, dialect: Dialect) -> list[Movement]:
        return self._movements[dialect]

    def times_paid(self, our_reference: str) -> int:
        return self._times_paid[our_reference]

    def payments(self) -> list[Payment]:
        return self._payments

    def _book(
        self,
        dialect: Dialect,
        kind: MovementKind,
        at: datetime,
        amount: int,
        fee: int,
        reference: str,
        service_ref: str,
        payment: Payment | None,
    ) -> Movement:
        counterparty = payment.name if payment else self._accounts[dialect].funder
        movement = Movement(kind, at, amount, fee, 0, reference, service_ref, counterparty, payment)
        self._balances[dialect] += movement.effect
        movement.balance_after = self._balances[dialect]
        self._movements[dialect].append(movement)
        return movement

    def view(
        self,
        *,
        reference: str | None = None,
        provider_reference: str | None = None,
        dialect: Dialect | None = None,
        status: PaymentStatus | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> dict[str, Any]:
        """The payments (and incidents) matching the filters, with how often each reference was paid."""
        chosen: Iterable[Payment] = self._payments
        if reference is not None:
            chosen = self._by_reference.get(reference, [])
        if provider_reference is not None:
            found = (self._by_provider_ref[d].get(provider_reference) for d in DIALECTS)
            chosen = [p for p in found if p is not None and reference in (None, p.our_reference)]
        selected = [
            p for p in chosen if (not dialect or p.dialect == dialect) and (not status or p.status == status)
        ]
        page = selected[offset : offset + limit if limit is not None else None]
        incidents = [
            i
            for i in self._incidents
            if (reference is None or i.our_reference == reference) and (not dialect or i.dialect == dialect)
        ]
        return {
            "count": len(selected),
            "payments": [p.view() for p in page],
            "references": {ref: self._reference_view(ref) for ref in sorted({p.our_reference for p in page})},
            "incidents": [i.view() for i in incidents],
        }

    def _reference_view(self, reference: str) -> dict[str, Any]:
        payments = self._by_reference.get(reference, [])
        paid = [p for p in payments if p.status in ("succeeded", "reversed")]
        return {
            "payments": len(payments),
            "times_paid": self._times_paid[reference],
            "amount_paid": sum(p.paid_amount for p in paid),
            "amount_returned": sum(p.paid_amount for p in paid if p.status == "reversed"),
        }

    def summary(self) -> dict[str, Any]:
        """Counts and sums by status (overall and per dialect), balances, incidents and repeated payments."""
        overall: dict[str, dict[str, int]] = {}
        per_dialect: dict[str, dict[str, dict[str, int]]] = {d: {} for d in DIALECTS}
        for payment in self._payments:
            for table in (overall, per_dialect[payment.dialect]):
                row = table.setdefault(payment.status, {"count": 0, "requested": 0, "paid": 0, "fees": 0})
                row["count"] += 1
                row["requested"] += payment.requested_amount
                row["paid"] += payment.paid_amount
                row["fees"] += payment.fee
        repeated = sorted(ref for ref, times in self._times_paid.items() if times > 1)
        return {
            "payments": len(self._payments),
            "by_status": overall,
            "by_dialect": per_dialect,
            "references": {
                "count": len(self._by_reference),
                "paid": len(self._times_paid),
                "paid_more_than_once": len(repeated),
                "max_times_paid": max(self._times_paid.values(), default=0),
                "examples_paid_more_than_once": repeated[:100],
            },
            "balances": dict(self._balances),
            "incidents": dict(Counter(i.kind for i in self._incidents)),
            "incidents_executed": sum(1 for i in self._incidents if i.executed),
        }


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None
