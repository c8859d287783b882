"""Three-way matching of instructions, provider confirmations and settlement lines (PROVIDERS.md §8.5).

Lines are matched to expectations by `our_ref` (instruction id or provider request key), then to
float fundings by `our_ref`, then by `provider_ref` (the provider's transaction reference). Payee,
amount and date (±2 days) only ever *suggest* an instruction to a human; they never match. Amounts are
whole francs compared exactly.

Matching is a pure function of what it is given, so it can be run again. When expectations arrive
after the statement that settles them (or their payment state changes), run it for those
expectations with every stored line whose `our_ref` or `provider_ref` is among their
`reference_keys`, plus the lines still unmatched: lines matched to other expectations are unaffected.

An expectation's outcome depends only on the lines matched to it, and a line's only on what it matches,
so a large statement is matched a batch of expectations at a time (`use_cases/rematch.match_staged`): each
batch with exactly the lines whose target is in it, given in instruction id order (so that two
expectations sharing a provider request key or reference resolve as over the whole set); the lines that
match nothing get `unmatched_line` last, with `Suggestions` of every expectation left without a line.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import NamedTuple

from reconciliation.statements.lines import Direction, LineKind, LineStatus, StatementLine

SUGGESTION_WINDOW = timedelta(days=2)
_NOT_MOVED = frozenset({LineStatus.FAILED, LineStatus.CANCELLED})


class PaymentState(StrEnum):
    """The payment's state as the payments service last reported it; PLANNED = entitled, not yet released."""

    PLANNED = "planned"
    INSTRUCTED = "instructed"
    SUBMITTED = "submitted"
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REJECTED = "rejected"
    UNKNOWN = "unknown"
    REVERSED = "reversed"
    CANCELLED = "cancelled"


NOT_PAID = frozenset({PaymentState.FAILED, PaymentState.REJECTED, PaymentState.CANCELLED})
CONFIRMED = frozenset({PaymentState.SUCCEEDED, PaymentState.REVERSED})


class InstructionOutcome(StrEnum):
    MATCHED = "MATCHED"
    CONFIRMED_UNSETTLED = "CONFIRMED_UNSETTLED"
    AWAITING_PROVIDER = "AWAITING_PROVIDER"
    NO_MONEY_MOVED = "NO_MONEY_MOVED"
    AMOUNT_MISMATCH = "AMOUNT_MISMATCH"
    DUPLICATE_SETTLEMENT = "DUPLICATE_SETTLEMENT"
    RETURNED = "RETURNED"
    REVERSED = "REVERSED"
    MISSING_FROM_SETTLEMENT = "MISSING_FROM_SETTLEMENT"
    STATUS_CONFLICT = "STATUS_CONFLICT"


#: Outcomes an expectation may hold with no line naming it: a statement that does not name it can still
#: change it (its coverage turns AWAITING_PROVIDER or CONFIRMED_UNSETTLED into MISSING_FROM_SETTLEMENT),
#: and its lines may be suggested for it. Every other outcome comes from lines that name it.
UNSETTLED = frozenset(
    {
        InstructionOutcome.AWAITING_PROVIDER,
        InstructionOutcome.CONFIRMED_UNSETTLED,
        InstructionOutcome.MISSING_FROM_SETTLEMENT,
        InstructionOutcome.NO_MONEY_MOVED,
        InstructionOutcome.STATUS_CONFLICT,
    }
)


class LineOutcome(StrEnum):
    MATCHED = "MATCHED"
    FUNDING_MATCHED = "FUNDING_MATCHED"
    FEE = "FEE"
    RETURN = "RETURN"
    REVERSAL = "REVERSAL"
    UNMATCHED_CREDIT = "UNMATCHED_CREDIT"
    UNKNOWN_REFERENCE = "UNKNOWN_REFERENCE"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class MatchedBy(StrEnum):
    OUR_REF = "our_ref"
    PROVIDER_REF = "provider_ref"


@dataclass(frozen=True, slots=True)
class Expectation:
    """One instruction as reconciliation knows it: what should move, and what payments says happened.

    `payee` is an E.164 msisdn or an account (IBAN). `confirmed_on`/`confirmed_amount` come from the
    provider's confirmation (callback or status query). `reported_status` is a terminal status the
    provider reported against the payment's own (a status conflict: the state was kept). The last four
    fields only feed the summary.
    """

    instruction_id: str
    provider: str
    payee: str
    amount: int
    state: PaymentState
    instructed_on: date
    provider_request_key: str | None = None
    provider_tx_ref: str | None = None
    confirmed_on: date | None = None
    confirmed_amount: int | None = None
    reported_status: str | None = None
    programme: str = ""
    region: str = ""
    commune: str = ""
    modality: str = ""

    @property
    def due_on(self) -> date:
        return self.confirmed_on or self.instructed_on


@dataclass(frozen=True, slots=True)
class Funding:
    """A float top-up we ordered (a payment batch's funding), known by its reference."""

    reference: str
    amount: int


@dataclass(frozen=True, slots=True)
class Discrepancy:
    """Something a person must look at. `category` is the outcome's name; `amount_at_stake` is in francs."""

    category: str
    severity: Severity
    amount_at_stake: int
    suggested_action: str


class InstructionResult(NamedTuple):
    """`settled_amount` is what the statements show left us for it: payments less returns and reversals.

    Results are named tuples: a cycle has hundreds of thousands and tuples are built fastest.
    """

    expectation: Expectation
    outcome: InstructionOutcome
    lines: tuple[StatementLine, ...]
    settled_amount: int
    discrepancy: Discrepancy | None


class LineResult(NamedTuple):
    """`reference` is the instruction id or funding reference the line matched; `suggestions` are for a human."""

    line: StatementLine
    outcome: LineOutcome
    reference: str | None
    matched_by: MatchedBy | None
    discrepancy: Discrepancy | None
    suggestions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Reconciliation:
    instructions: list[InstructionResult]
    lines: list[LineResult]


def reference_keys(expectations: Iterable[Expectation]) -> set[str]:
    """The `our_ref`/`provider_ref` values whose stored lines must be passed again when re-running them."""
    keys: set[str] = set()
    for expectation in expectations:
        keys.update(
            key
            for key in (
                expectation.instruction_id,
                expectation.provider_request_key,
                expectation.provider_tx_ref,
            )
            if key
        )
    return keys


def reconcile(
    expectations: Iterable[Expectation],
    lines: Iterable[StatementLine],
    *,
    fundings: Iterable[Funding] = (),
    settled_through: Mapping[str, date] | None = None,
) -> Reconciliation:
    """Classify every expectation and every line, in time linear in their numbers.

    `settled_through` gives, per provider, the last day its received statements cover: an instruction
    due by then and absent from them is MISSING_FROM_SETTLEMENT rather than still awaited.
    """
    index = _Index(list(expectations), fundings)
    line_results: list[LineResult | None] = []
    unmatched: list[tuple[int, StatementLine]] = []
    for line in lines:
        result = index.match(line)
        if result is None:
            unmatched.append((len(line_results), line))
        line_results.append(result)
    if unmatched:  # (most calls, judging payments' news, have no line at all)
        suggestions = Suggestions(index.unsettled())
        for position, line in unmatched:
            line_results[position] = _unmatched(line, suggestions.for_line(line))
    covered = settled_through or {}
    instructions = [
        _judge(expectation, index.evidence.get(expectation.instruction_id, ()), covered)
        for expectation in index.expectations
    ]
    return Reconciliation(
        instructions=instructions, lines=[result for result in line_results if result is not None]
    )


# -- indexes -----------------------------------------------------------------------------------------


class _Index:
    """Dict indexes over expectations and fundings, and the lines gathered for each instruction."""

    def __init__(self, expectations: list[Expectation], fundings: Iterable[Funding]) -> None:
        self.expectations = expectations
        self.by_our_ref: dict[str, Expectation] = {}
        self.by_provider_ref: dict[str, Expectation] = {}
        for expectation in expectations:
            if expectation.instruction_id in self.by_our_ref:
                raise ValueError(f"instruction {expectation.instruction_id} is expected twice")
            self.by_our_ref[expectation.instruction_id] = expectation
            if expectation.provider_tx_ref:
                self.by_provider_ref[expectation.provider_tx_ref] = expectation
        for expectation in expectations:
            if expectation.provider_request_key:
                self.by_our_ref.setdefault(expectation.provider_request_key, expectation)
        self.fundings = {funding.reference: funding for funding in fundings}
        self.evidence: dict[str, tuple[StatementLine, ...]] = {}

    def match(self, line: StatementLine) -> LineResult | None:
        """The line's result when it matches by reference, else None (left for the unmatched pass)."""
        if line.our_ref is not None:
            expectation = self.by_our_ref.get(line.our_ref)
            if expectation is not None:
                return self._attach(line, expectation, MatchedBy.OUR_REF)
            funding = self.fundings.get(line.our_ref)
            if funding is not None:
                return _funding_result(line, funding)
        if line.provider_ref is not None:
            expectation = self.by_provider_ref.get(line.provider_ref)
            if expectation is not None:
                return self._attach(line, expectation, MatchedBy.PROVIDER_REF)
        return None

    def _attach(self, line: StatementLine, expectation: Expectation, matched_by: MatchedBy) -> LineResult:
        key = expectation.instruction_id
        self.evidence[key] = (*self.evidence.get(key, ()), line)  # most instructions have one line: no list
        return LineResult(line, _matched_line_outcome(line), expectation.instruction_id, matched_by, None)

    def unsettled(self) -> list[Expectation]:
        """Expectations no line refers to: the only candidates for a suggestion."""
        return [
            expectation
            for expectation in self.expectations
            if expectation.instruction_id not in self.evidence
        ]


class Suggestions:
    """Payee + amount + date (±2 days) candidates for a line that matched nothing; never a match."""

    def __init__(self, candidates: list[Expectation]) -> None:
        self._by_payee_amount: dict[tuple[str, int], list[Expectation]] = defaultdict(list)
        for expectation in candidates:
            self._by_payee_amount[(expectation.payee, expectation.amount)].append(expectation)

    def for_line(self, line: StatementLine) -> tuple[str, ...]:
        if line.kind is LineKind.FEE:
            return ()
        payees = {
            payee for payee in (line.counterparty_msisdn, line.counterparty_account) if payee is not None
        }
        found = {
            expectation.instruction_id
            for payee in payees
            for expectation in self._by_payee_amount.get((payee, line.amount), ())
            if _near(line.booking_date, expectation)
        }
        return tuple(sorted(found))


def unmatched_line(line: StatementLine, suggestions: Suggestions) -> LineResult:
    """The result of a line that names no expectation and no funding (what `reconcile` gives it)."""
    return _unmatched(line, suggestions.for_line(line))


def funding_line(line: StatementLine, funding: Funding) -> LineResult:
    """The result of a line whose `our_ref` is the reference of a funding (what `reconcile` gives it)."""
    return _funding_result(line, funding)


def _near(day: date, expectation: Expectation) -> bool:
    return any(
        abs(day - other) <= SUGGESTION_WINDOW for other in (expectation.instructed_on, expectation.due_on)
    )


# -- lines -------------------------------------------------------------------------------------------


def _matched_line_outcome(line: StatementLine) -> LineOutcome:
    if line.kind is LineKind.FEE:
        return LineOutcome.FEE
    if line.kind is LineKind.REVERSAL:
        return LineOutcome.REVERSAL
    if line.direction is Direction.CREDIT:
        return LineOutcome.RETURN
    return LineOutcome.MATCHED


def _funding_result(line: StatementLine, funding: Funding) -> LineResult:
    discrepancy = None
    if line.booked and line.amount != funding.amount:
        discrepancy = Discrepancy(
            category=InstructionOutcome.AMOUNT_MISMATCH.value,
            severity=Severity.CRITICAL,
            amount_at_stake=abs(line.amount - funding.amount),
            suggested_action=(
                f"The funding {funding.reference} moved {line.amount} XOF instead of {funding.amount}:"
                " check the transfer order with the bank and correct the float before paying from it."
            ),
        )
    return LineResult(line, LineOutcome.FUNDING_MATCHED, funding.reference, MatchedBy.OUR_REF, discrepancy)


def _unmatched(line: StatementLine, suggestions: tuple[str, ...]) -> LineResult:
    if line.kind is LineKind.FEE:
        return LineResult(line, LineOutcome.FEE, None, None, None)
    hint = (
        f" Possible instruction(s) by payee, amount and date: {', '.join(suggestions)}."
        if suggestions
        else ""
    )
    if line.direction is Direction.CREDIT:
        outcome = LineOutcome.UNMATCHED_CREDIT
        severity = Severity.WARNING
        action = (
            "Money came in under a reference we do not know: identify the sender (treasury funding, a return"
            " without reference…) and record what it is." + hint
        )
    else:
        outcome = LineOutcome.UNKNOWN_REFERENCE
        severity = Severity.CRITICAL
        action = (
            "Money left the account under a reference we never issued: ask the provider what it paid and to"
            " whom, and claim it back if it is not ours." + hint
        )
    if not line.booked:
        severity = Severity.INFO
        action = f"The provider reports a {line.raw_status} attempt under a reference we do not know; no money moved."
    discrepancy = Discrepancy(outcome.value, severity, line.amount if line.booked else 0, action)
    return LineResult(line, outcome, None, None, discrepancy, suggestions)


# -- instructions ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Evidence:
    payments: list[StatementLine]
    returns: list[StatementLine]
    reversals: list[StatementLine]
    failures: list[StatementLine]

    @classmethod
    def of(cls, lines: tuple[StatementLine, ...]) -> _Evidence:
        evidence = cls([], [], [], [])
        for line in _distinct(lines):
            if line.kind is LineKind.FEE:
                continue
            if line.status is not LineStatus.BOOKED:
                if line.status in _NOT_MOVED:
                    evidence.failures.append(line)
                continue
            outcome = _matched_line_outcome(line)
            if outcome is LineOutcome.MATCHED:
                evidence.payments.append(line)
            elif outcome is LineOutcome.RETURN:
                evidence.returns.append(line)
            else:
                evidence.reversals.append(line)
        return evidence

    @property
    def settled(self) -> int:
        return -sum(line.signed_amount for line in (*self.payments, *self.returns, *self.reversals))


def _distinct(lines: tuple[StatementLine, ...]) -> tuple[StatementLine, ...]:
    """One booking reported twice (same provider reference, direction, amount and status) is one booking."""
    if len(lines) < 2:
        return lines
    seen: set[tuple[str, Direction, int, LineStatus]] = set()
    kept = []
    for line in lines:
        if line.provider_ref is not None:
            key = (line.provider_ref, line.direction, line.amount, line.status)
            if key in seen:
                continue
            seen.add(key)
        kept.append(line)
    return tuple(kept)


def _judge(
    expectation: Expectation, lines: tuple[StatementLine, ...], settled_through: Mapping[str, date]
) -> InstructionResult:
    evidence = _Evidence.of(lines)
    outcome, discrepancy = _decide(expectation, evidence, settled_through)
    return InstructionResult(expectation, outcome, lines, evidence.settled, discrepancy)


def _decide(
    expectation: Expectation, evidence: _Evidence, settled_through: Mapping[str, date]
) -> tuple[InstructionOutcome, Discrepancy | None]:
    if expectation.reported_status:
        return _contradicted(expectation, expectation.reported_status)
    if evidence.returns:
        return _returned(evidence.returns)
    if evidence.reversals:
        return _reversed(expectation, evidence.reversals)
    if len(evidence.payments) > 1:
        return _duplicated(evidence.payments)
    if evidence.payments:
        return _settled(expectation, evidence.payments[0])
    if evidence.failures:
        return _reported_failed(expectation, evidence.failures[0])
    return _absent(expectation, settled_through)


def _contradicted(expectation: Expectation, claim: str) -> tuple[InstructionOutcome, Discrepancy]:
    """The provider reported a terminal status that contradicts the payment's (PROVIDERS.md §8.2)."""
    return _conflict(
        expectation.amount,
        Severity.CRITICAL,
        f"The provider reported the payment {claim} while payments has it {expectation.state.value};"
        " the state was kept and a status query is due. Do not re-issue until the provider's answer"
        " and the statements agree.",
    )


def _returned(returns: list[StatementLine]) -> tuple[InstructionOutcome, Discrepancy]:
    amount = sum(line.amount for line in returns)
    reasons = (
        ", ".join(sorted({line.return_reason for line in returns if line.return_reason})) or "no reason given"
    )
    return InstructionOutcome.RETURNED, Discrepancy(
        InstructionOutcome.RETURNED.value,
        Severity.WARNING,
        amount,
        f"The payment came back ({reasons}); the money is on our account again. Mark the payment reversed,"
        " correct the beneficiary's account and re-issue it as a new attempt.",
    )


def _reversed(
    expectation: Expectation, reversals: list[StatementLine]
) -> tuple[InstructionOutcome, Discrepancy]:
    amount = sum(line.amount for line in reversals)
    already_known = expectation.state is PaymentState.REVERSED
    return InstructionOutcome.REVERSED, Discrepancy(
        InstructionOutcome.REVERSED.value,
        Severity.INFO if already_known else Severity.WARNING,
        amount,
        "The provider reversed the payment. Confirm why with the provider"
        + ("" if already_known else ", mark the payment reversed")
        + " and re-issue it if the household is still entitled.",
    )


def _duplicated(payments: list[StatementLine]) -> tuple[InstructionOutcome, Discrepancy]:
    extra = sum(line.amount for line in payments[1:])
    references = ", ".join(line.provider_ref or line.line_id for line in payments)
    return InstructionOutcome.DUPLICATE_SETTLEMENT, Discrepancy(
        InstructionOutcome.DUPLICATE_SETTLEMENT.value,
        Severity.CRITICAL,
        extra,
        f"Paid {len(payments)} times ({references}). Ask the provider to recall the extra payment(s);"
        " recover from the household only as a last resort.",
    )


def _settled(
    expectation: Expectation, payment: StatementLine
) -> tuple[InstructionOutcome, Discrepancy | None]:
    state = expectation.state
    if state in NOT_PAID or state is PaymentState.PLANNED:
        return _conflict(
            payment.amount,
            Severity.CRITICAL,
            f"The statement shows the money left although payments records the payment as {state.value}."
            " Query the provider and do not re-issue until this is resolved.",
        )
    for what, amount in (("settled", payment.amount), ("confirmed", expectation.confirmed_amount)):
        if amount is not None and amount != expectation.amount:
            return InstructionOutcome.AMOUNT_MISMATCH, Discrepancy(
                InstructionOutcome.AMOUNT_MISMATCH.value,
                Severity.CRITICAL,
                abs(amount - expectation.amount),
                f"{amount} XOF {what} instead of the {expectation.amount} XOF instructed. Ask the provider why;"
                " pay the difference or recover the excess once explained.",
            )
    if state is PaymentState.REVERSED:
        return _conflict(
            payment.amount,
            Severity.WARNING,
            "Payments records a reversal that the statements do not show yet: check the next statement"
            " or query the provider.",
        )
    return InstructionOutcome.MATCHED, None


def _reported_failed(
    expectation: Expectation, failure: StatementLine
) -> tuple[InstructionOutcome, Discrepancy | None]:
    state = expectation.state
    if state in CONFIRMED:
        return _conflict(
            expectation.amount,
            Severity.CRITICAL,
            f"The provider confirmed the payment but its report marks it {failure.raw_status}."
            " Query the provider before anything else.",
        )
    if state in NOT_PAID:
        return InstructionOutcome.NO_MONEY_MOVED, None
    return InstructionOutcome.NO_MONEY_MOVED, Discrepancy(
        InstructionOutcome.NO_MONEY_MOVED.value,
        Severity.WARNING,
        expectation.amount,
        f"The provider's report marks the payment {failure.raw_status} while payments has it {state.value}:"
        " confirm with a status query, then mark it failed and re-issue it as a new attempt.",
    )


def _absent(
    expectation: Expectation, settled_through: Mapping[str, date]
) -> tuple[InstructionOutcome, Discrepancy | None]:
    state = expectation.state
    if state in NOT_PAID:
        return InstructionOutcome.NO_MONEY_MOVED, None
    if state is PaymentState.PLANNED:
        return InstructionOutcome.AWAITING_PROVIDER, None
    covered = settled_through.get(expectation.provider)
    if covered is None or covered < expectation.due_on:
        waiting = (
            InstructionOutcome.CONFIRMED_UNSETTLED
            if state in CONFIRMED
            else InstructionOutcome.AWAITING_PROVIDER
        )
        return waiting, None
    if state in CONFIRMED:
        severity = Severity.CRITICAL
        action = (
            f"The provider confirmed the payment but no statement up to {covered} shows it: ask the provider"
            " for proof of settlement."
        )
    else:
        severity = Severity.WARNING
        action = (
            f"Not confirmed and not on any statement up to {covered}: query the provider. Resend only with the"
            " same provider key while in doubt; re-issue only once it is known to have failed."
        )
    return InstructionOutcome.MISSING_FROM_SETTLEMENT, Discrepancy(
        InstructionOutcome.MISSING_FROM_SETTLEMENT.value, severity, expectation.amount, action
    )


def _conflict(amount: int, severity: Severity, action: str) -> tuple[InstructionOutcome, Discrepancy]:
    return InstructionOutcome.STATUS_CONFLICT, Discrepancy(
        InstructionOutcome.STATUS_CONFLICT.value, severity, amount, action
    )
