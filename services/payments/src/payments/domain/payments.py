"""The payment state machine (PROVIDERS.md §8.2): how one attempt of a payment instruction moves, and on what evidence.

```
CREATED → APPROVED → SUBMITTING → SUBMITTED → PENDING → SUCCEEDED → REVERSED
                         │            │          │    ↘ FAILED
                      REJECTED     UNKNOWN ←─────┘   (UNKNOWN resolves to SUBMITTED, PENDING or a final state,
CREATED|APPROVED → CANCELLED                          or goes back to SUBMITTING to resend with the same key)
```
Rules:
* Final states stick. The only exit from a final state is SUCCEEDED → REVERSED.
* A duplicate, or a non-final status older than the current state (PENDING after SUCCEEDED), is ignored.
* A final status that contradicts the current final state (FAILED after SUCCEEDED) changes nothing and is
  reported as a STATUS_CONFLICT; FAILED, REJECTED and CANCELLED agree (no money moved), so they never conflict.
* Anything else the table does not allow is refused (and the caller records it).
* Evidence from an unauthenticated source (an unsigned callback) may only move a payment to SUBMITTED or
  PENDING; any other move waits for an authenticated status query (outcome UNCONFIRMED).
* A timeout or a 5xx on send is UNKNOWN (in doubt), never FAILED. A resend while in doubt reuses the attempt's
  provider key; a re-issue after FAILED, REJECTED or REVERSED is a new attempt with a new key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol
from uuid import UUID, uuid4

from payments.domain.references import attempt_reference, validate_reference
from shared.errors import Conflict, InvalidInput
from shared.money import Money


class PaymentState(StrEnum):
    """Where one attempt of a payment stands; also the canonical status a provider reports."""

    CREATED = "CREATED"
    APPROVED = "APPROVED"
    SUBMITTING = "SUBMITTING"
    SUBMITTED = "SUBMITTED"
    PENDING = "PENDING"
    UNKNOWN = "UNKNOWN"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"
    REVERSED = "REVERSED"

    @property
    def is_final(self) -> bool:
        return self in _FINAL

    @property
    def money_moved(self) -> bool | None:
        """True if the money reached the payee (even if returned since), False if it provably did not."""
        return _MONEY_MOVED.get(self)


_FINAL = frozenset(
    {
        PaymentState.SUCCEEDED,
        PaymentState.FAILED,
        PaymentState.REJECTED,
        PaymentState.CANCELLED,
        PaymentState.REVERSED,
    }
)
_MONEY_MOVED = {
    PaymentState.SUCCEEDED: True,
    PaymentState.REVERSED: True,
    PaymentState.FAILED: False,
    PaymentState.REJECTED: False,
    PaymentState.CANCELLED: False,
}

#: Every move the state machine allows, whoever asks for it.
TRANSITIONS: dict[PaymentState, frozenset[PaymentState]] = {
    PaymentState.CREATED: frozenset({PaymentState.APPROVED, PaymentState.CANCELLED}),
    PaymentState.APPROVED: frozenset({PaymentState.SUBMITTING, PaymentState.CANCELLED}),
    PaymentState.SUBMITTING: frozenset(
        {
            PaymentState.SUBMITTED,
            PaymentState.REJECTED,
            PaymentState.UNKNOWN,
            PaymentState.PENDING,
            PaymentState.SUCCEEDED,
            PaymentState.FAILED,
        }
    ),
    PaymentState.SUBMITTED: frozenset(
        {PaymentState.PENDING, PaymentState.SUCCEEDED, PaymentState.FAILED, PaymentState.UNKNOWN}
    ),
    PaymentState.PENDING: frozenset({PaymentState.SUCCEEDED, PaymentState.FAILED, PaymentState.UNKNOWN}),
    PaymentState.UNKNOWN: frozenset(
        {
            PaymentState.SUBMITTING,
            PaymentState.SUBMITTED,
            PaymentState.PENDING,
            PaymentState.SUCCEEDED,
            PaymentState.FAILED,
        }
    ),
    PaymentState.SUCCEEDED: frozenset({PaymentState.REVERSED}),
    PaymentState.FAILED: frozenset(),
    PaymentState.REJECTED: frozenset(),
    PaymentState.CANCELLED: frozenset(),
    PaymentState.REVERSED: frozenset(),
}

#: The statuses a provider (callback, poll, report) can tell us about a transaction.
PROVIDER_STATUSES = frozenset(
    {
        PaymentState.SUBMITTED,
        PaymentState.PENDING,
        PaymentState.UNKNOWN,
        PaymentState.SUCCEEDED,
        PaymentState.FAILED,
        PaymentState.REVERSED,
    }
)
_SEND_STATUSES = frozenset({PaymentState.SUBMITTED, PaymentState.REJECTED, PaymentState.UNKNOWN})
_UNAUTHENTICATED_MOVES = frozenset({PaymentState.SUBMITTED, PaymentState.PENDING})
_PROVIDER_KNOWS_IT = frozenset(
    {PaymentState.SUBMITTED, PaymentState.PENDING, PaymentState.SUCCEEDED, PaymentState.REVERSED}
)
_EXPLAINED_BY_FAILURE_CODE = frozenset({PaymentState.FAILED, PaymentState.REJECTED, PaymentState.UNKNOWN})
#: What a payment's transitions change (see `Payment._with`).
_MOVABLE = frozenset({"state", "failure_code", "provider_tx_ref"})
_PROGRESS = {PaymentState.SUBMITTING: 0, PaymentState.SUBMITTED: 1, PaymentState.PENDING: 2}


class FailureCode(StrEnum):
    """Canonical failure codes (PROVIDERS.md §8.4), each with its `retryable` and `definitive` flags.

    `definitive`: the code alone proves that no money moved under this provider key, so a refusal carrying it
    is REJECTED; otherwise the payment is in doubt (UNKNOWN) until a status query settles it.
    `retryable`: paying the same household again may succeed without correcting its data (possibly later,
    e.g. after a float top-up): with the same key while in doubt, with a new attempt after a definitive failure.
    """

    RECIPIENT_NOT_FOUND = "RECIPIENT_NOT_FOUND"
    RECIPIENT_NOT_ALLOWED = "RECIPIENT_NOT_ALLOWED"
    RECIPIENT_LIMIT = "RECIPIENT_LIMIT"
    NAME_MISMATCH = "NAME_MISMATCH"
    INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
    AMOUNT_OUT_OF_RANGE = "AMOUNT_OUT_OF_RANGE"
    DUPLICATE = "DUPLICATE"
    INVALID_REQUEST = "INVALID_REQUEST"
    AUTH_CONFIG = "AUTH_CONFIG"
    PROVIDER_UNAVAILABLE = "PROVIDER_UNAVAILABLE"
    TIMEOUT = "TIMEOUT"
    EXPIRED = "EXPIRED"
    UNCLASSIFIED = "UNCLASSIFIED"

    @property
    def retryable(self) -> bool:
        return _FAILURE_FLAGS[self][0]

    @property
    def definitive(self) -> bool:
        return _FAILURE_FLAGS[self][1]


#: (retryable, definitive) for each code.
_FAILURE_FLAGS: dict[FailureCode, tuple[bool, bool]] = {
    FailureCode.RECIPIENT_NOT_FOUND: (False, True),
    FailureCode.RECIPIENT_NOT_ALLOWED: (False, True),
    FailureCode.RECIPIENT_LIMIT: (True, True),
    FailureCode.NAME_MISMATCH: (False, True),
    FailureCode.INSUFFICIENT_FUNDS: (True, True),
    FailureCode.AMOUNT_OUT_OF_RANGE: (False, True),
    FailureCode.DUPLICATE: (False, False),
    FailureCode.INVALID_REQUEST: (False, True),
    FailureCode.AUTH_CONFIG: (False, True),
    FailureCode.PROVIDER_UNAVAILABLE: (True, False),
    FailureCode.TIMEOUT: (True, False),
    FailureCode.EXPIRED: (False, False),
    FailureCode.UNCLASSIFIED: (False, True),
}


class Authenticity(StrEnum):
    """How far we trust the source of a status.

    `verified_by_query` also covers the provider's direct answer to our own authenticated request;
    `operator_report` is a provider's report file brought in by an authenticated operator (Orange bulk).
    """

    SIGNATURE_VALID = "signature_valid"
    VERIFIED_BY_QUERY = "verified_by_query"
    OPERATOR_REPORT = "operator_report"
    UNAUTHENTICATED = "unauthenticated"


class StatusEvidence(Protocol):
    """What a provider said about a payment, reduced to what the state machine needs (a `ProviderEvent` fits)."""

    @property
    def status(self) -> PaymentState: ...
    @property
    def provider_tx_ref(self) -> str | None: ...
    @property
    def amount(self) -> int | None: ...
    @property
    def currency(self) -> str | None: ...
    @property
    def failure_code(self) -> FailureCode | None: ...
    @property
    def authenticity(self) -> Authenticity: ...


class OutcomeKind(StrEnum):
    """What applying a command or a piece of evidence did."""

    TRANSITIONED = "transitioned"
    IGNORED = "ignored"
    CONFLICT = "conflict"
    REFUSED = "refused"
    UNCONFIRMED = "unconfirmed"


class Discrepancy(StrEnum):
    """Something to put in front of a person, found while applying evidence."""

    STATUS_CONFLICT = "STATUS_CONFLICT"
    AMOUNT_MISMATCH = "AMOUNT_MISMATCH"
    PROVIDER_REF_MISMATCH = "PROVIDER_REF_MISMATCH"


@dataclass(frozen=True)
class Outcome:
    """The result of one command or piece of evidence: the payment afterwards, and why."""

    kind: OutcomeKind
    payment: Payment
    previous: PaymentState
    reason: str
    discrepancy: Discrepancy | None = None

    @property
    def state(self) -> PaymentState:
        return self.payment.state

    @property
    def needs_status_query(self) -> bool:
        """A conflict or an unconfirmed status is settled by asking the provider (authenticated)."""
        return self.kind in {OutcomeKind.CONFLICT, OutcomeKind.UNCONFIRMED}

    def expect_transition(self) -> Payment:
        """The new payment, or a Conflict error when the command was not applied (for command callers)."""
        if self.kind is not OutcomeKind.TRANSITIONED:
            raise Conflict(self.reason, details={"state": self.previous.value, "outcome": self.kind.value})
        return self.payment


@dataclass(frozen=True)
class Payment:
    """One attempt of a payment instruction. Immutable: every command returns an `Outcome`."""

    instruction_id: str
    amount: Money
    attempt_no: int = 1
    provider_request_key: UUID = field(default_factory=uuid4)
    state: PaymentState = PaymentState.CREATED
    provider_tx_ref: str | None = None
    failure_code: FailureCode | None = None

    def __post_init__(self) -> None:
        validate_reference(self.instruction_id)
        attempt_reference(self.instruction_id, self.attempt_no)
        if self.amount.amount <= 0:
            raise InvalidInput("a payment moves a positive amount")

    @property
    def reference(self) -> str:
        """The reference this attempt carries to the provider and onto statements."""
        return attempt_reference(self.instruction_id, self.attempt_no)

    def approve(self) -> Outcome:
        return self._command(PaymentState.APPROVED, "approved")

    def cancel(self) -> Outcome:
        return self._command(PaymentState.CANCELLED, "cancelled before submission")

    def start_submission(self) -> Outcome:
        """About to call the provider: first send, or a resend with the same key while in doubt."""
        return self._command(PaymentState.SUBMITTING, "submitting with key " + str(self.provider_request_key))

    def mark_in_doubt(self) -> Outcome:
        """No answer in time (expiry, poll limit, crash while sending): in doubt until a query settles it."""
        if self.state is PaymentState.UNKNOWN:
            return self._not_moved(OutcomeKind.IGNORED, "already in doubt")
        return self._command(PaymentState.UNKNOWN, "in doubt")

    def record_send_result(self, status: PaymentState, failure_code: FailureCode | None = None) -> Outcome:
        """The synchronous answer to our send: SUBMITTED, REJECTED (no money moved) or UNKNOWN (in doubt)."""
        if status not in _SEND_STATUSES:
            return self._not_moved(OutcomeKind.REFUSED, f"{status} is not an answer to a send")
        if self.state is PaymentState.SUBMITTING:
            return self._moved(status, f"send answered {status}", failure_code=failure_code)
        if self.state in {PaymentState.CREATED, PaymentState.APPROVED, PaymentState.CANCELLED}:
            return self._not_moved(OutcomeKind.REFUSED, f"never submitted, but a send answered {status}")
        if status is PaymentState.REJECTED and self.state in _PROVIDER_KNOWS_IT:
            return self._not_moved(
                OutcomeKind.CONFLICT,
                f"send rejected but the provider already reported {self.state}",
                Discrepancy.STATUS_CONFLICT,
            )
        return self._not_moved(
            OutcomeKind.IGNORED, f"send answered {status} after the payment reached {self.state}"
        )

    def apply(self, evidence: StatusEvidence) -> Outcome:
        """Apply what a provider said (callback, poll, report): monotonic, idempotent, never raises."""
        status = evidence.status
        if self._names_another_transaction(evidence):
            if evidence.authenticity is Authenticity.UNAUTHENTICATED:
                return self._not_moved(
                    OutcomeKind.UNCONFIRMED, "unauthenticated evidence of another transaction"
                )
            return self._not_moved(
                OutcomeKind.CONFLICT,
                f"provider reference {evidence.provider_tx_ref} differs from {self.provider_tx_ref}",
                Discrepancy.PROVIDER_REF_MISMATCH,
            )
        if status not in PROVIDER_STATUSES:
            return self._not_moved(OutcomeKind.REFUSED, f"{status} is not a status a provider reports")
        if status is self.state:
            return self._not_moved(OutcomeKind.IGNORED, f"duplicate {status}", self._amount_check(evidence))
        if self.state.is_final:
            return self._against_final(evidence)
        if _PROGRESS.get(status, 99) < _PROGRESS.get(self.state, -1):
            return self._not_moved(OutcomeKind.IGNORED, f"stale {status} after {self.state}")
        if status not in TRANSITIONS[self.state]:
            return self._not_moved(OutcomeKind.REFUSED, f"{self.state} cannot become {status}")
        if evidence.authenticity is Authenticity.UNAUTHENTICATED and status not in _UNAUTHENTICATED_MOVES:
            return self._not_moved(
                OutcomeKind.UNCONFIRMED, f"unauthenticated {status}: confirm by status query"
            )
        return self._moved(
            status,
            f"provider reported {status}",
            failure_code=evidence.failure_code,
            provider_tx_ref=evidence.provider_tx_ref,
            discrepancy=self._amount_check(evidence),
        )

    def reissue(self) -> Payment:
        """A new attempt with a new provider key, after the previous one provably did not pay (or was reversed)."""
        if self.state not in {PaymentState.FAILED, PaymentState.REJECTED, PaymentState.REVERSED}:
            raise Conflict(
                f"only a failed, rejected or reversed payment is re-issued, not a {self.state} one",
                details={"state": self.state.value},
            )
        return Payment(instruction_id=self.instruction_id, amount=self.amount, attempt_no=self.attempt_no + 1)

    def _against_final(self, evidence: StatusEvidence) -> Outcome:
        status = evidence.status
        if not status.is_final:
            return self._not_moved(OutcomeKind.IGNORED, f"stale {status} after {self.state}")
        if self.state is PaymentState.REVERSED and status is PaymentState.SUCCEEDED:
            return self._not_moved(
                OutcomeKind.IGNORED, "late SUCCEEDED after REVERSED", self._amount_check(evidence)
            )
        if status.money_moved is False and self.state.money_moved is False:
            return self._not_moved(OutcomeKind.IGNORED, f"{status} agrees with {self.state}: no money moved")
        if evidence.authenticity is Authenticity.UNAUTHENTICATED:
            return self._not_moved(
                OutcomeKind.UNCONFIRMED, f"unauthenticated {status}: confirm by status query"
            )
        if status in TRANSITIONS[self.state]:
            return self._moved(
                status, f"provider reported {status}", discrepancy=self._amount_check(evidence)
            )
        return self._not_moved(
            OutcomeKind.CONFLICT,
            f"provider reported {status} but payment is {self.state}",
            Discrepancy.STATUS_CONFLICT,
        )

    def _names_another_transaction(self, evidence: StatusEvidence) -> bool:
        known, named = self.provider_tx_ref, evidence.provider_tx_ref
        return known is not None and named is not None and known != named

    def _amount_check(self, evidence: StatusEvidence) -> Discrepancy | None:
        if evidence.status not in {PaymentState.SUCCEEDED, PaymentState.REVERSED} or evidence.amount is None:
            return None
        same_currency = evidence.currency in {None, self.amount.currency}
        if evidence.amount != self.amount.amount or not same_currency:
            return Discrepancy.AMOUNT_MISMATCH
        return None

    def _command(self, target: PaymentState, reason: str) -> Outcome:
        if target not in TRANSITIONS[self.state]:
            return self._not_moved(OutcomeKind.REFUSED, f"{self.state} cannot become {target}")
        return self._moved(target, reason)

    def _moved(
        self,
        target: PaymentState,
        reason: str,
        *,
        failure_code: FailureCode | None = None,
        provider_tx_ref: str | None = None,
        discrepancy: Discrepancy | None = None,
    ) -> Outcome:
        if target in {PaymentState.FAILED, PaymentState.REJECTED} and failure_code is None:
            failure_code = FailureCode.UNCLASSIFIED
        moved = self._with(
            state=target,
            failure_code=failure_code if target in _EXPLAINED_BY_FAILURE_CODE else None,
            provider_tx_ref=self.provider_tx_ref or provider_tx_ref,
        )
        return Outcome(OutcomeKind.TRANSITIONED, moved, self.state, reason, discrepancy)

    def known_as(self, provider_tx_ref: str) -> Payment:
        """The same payment, with the provider's reference for it."""
        return self._with(provider_tx_ref=provider_tx_ref)

    def _with(self, **changes: Any) -> Payment:
        """A copy with what a transition moves changed. The fields checked at construction (reference,
        attempt, amount) are the same, so they are not checked again: `dataclasses.replace`, which does,
        was ~7 % of the dispatcher's samples holding the interpreter lock (py-spy --gil, a GSMA release)."""
        assert changes.keys() <= _MOVABLE, changes.keys() - _MOVABLE
        moved = object.__new__(Payment)
        moved.__dict__.update(self.__dict__, **changes)
        return moved

    def _not_moved(self, kind: OutcomeKind, reason: str, discrepancy: Discrepancy | None = None) -> Outcome:
        return Outcome(kind, self, self.state, reason, discrepancy)
