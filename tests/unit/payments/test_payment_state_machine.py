"""The payment state machine: monotonic, idempotent, final states stick, conflicts reported, never raises."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from payments.domain.payments import (
    PROVIDER_STATUSES,
    TRANSITIONS,
    Authenticity,
    Discrepancy,
    FailureCode,
    Outcome,
    OutcomeKind,
    Payment,
    PaymentState,
)
from shared.errors import Conflict
from shared.money import xof

S = PaymentState
VERIFIED = Authenticity.VERIFIED_BY_QUERY
UNSIGNED = Authenticity.UNAUTHENTICATED


@dataclass(frozen=True)
class Said:
    """A provider's word, as the state machine sees it."""

    status: PaymentState
    authenticity: Authenticity = VERIFIED
    provider_tx_ref: str | None = None
    amount: int | None = None
    currency: str | None = None
    failure_code: FailureCode | None = None


def new_payment() -> Payment:
    return Payment(instruction_id="J26Q1-000041", amount=xof(30_000))


def submitted_payment() -> Payment:
    payment = new_payment().approve().payment.start_submission().payment
    return payment.record_send_result(S.SUBMITTED).payment


#: Mostly what providers really say, sometimes anything at all; mostly trustworthy, sometimes not.
evidence = st.builds(
    Said,
    status=st.one_of(st.sampled_from(sorted(PROVIDER_STATUSES)), st.sampled_from(list(PaymentState))),
    authenticity=st.one_of(st.just(VERIFIED), st.sampled_from(list(Authenticity))),
    provider_tx_ref=st.sampled_from([None, None, "TX-1", "TX-1", "TX-2"]),
    amount=st.sampled_from([None, 30_000, 25_000]),
    failure_code=st.sampled_from([None, *FailureCode]),
)
commands = st.sampled_from(["approve", "cancel", "start_submission", "mark_in_doubt"])
send_results = st.tuples(
    st.sampled_from(list(PaymentState)),
    st.sampled_from([None, FailureCode.TIMEOUT, FailureCode.INVALID_REQUEST]),
)
actions = st.one_of(evidence, commands, send_results)
#: Most histories worth testing start by sending the payment; prefix them with that often.
SENT: list[Action] = ["approve", "start_submission", (S.SUBMITTED, None)]
histories = st.tuples(st.booleans(), st.lists(actions, max_size=25)).map(
    lambda drawn: (SENT if drawn[0] else []) + drawn[1]
)


Action = Said | tuple[PaymentState, FailureCode | None] | str
COMMANDS: dict[str, Callable[[Payment], Outcome]] = {
    "approve": Payment.approve,
    "cancel": Payment.cancel,
    "start_submission": Payment.start_submission,
    "mark_in_doubt": Payment.mark_in_doubt,
}


def act(payment: Payment, action: Action) -> Outcome:
    if isinstance(action, Said):
        return payment.apply(action)
    if isinstance(action, tuple):
        return payment.record_send_result(*action)
    return COMMANDS[action](payment)


def run(history: list[Action]) -> list[tuple[PaymentState, Action, Outcome]]:
    """Apply every action; return (state before, action, outcome) for each."""
    payment = new_payment()
    trail = []
    for action in history:
        outcome = act(payment, action)
        trail.append((payment.state, action, outcome))
        payment = outcome.payment
    return trail


@settings(max_examples=300, deadline=None)
@given(histories)
def test_every_transition_is_one_the_table_allows_and_nothing_else_changes_the_payment(
    history: list[Action],
) -> None:
    payment = new_payment()
    for action in history:
        outcome = act(payment, action)
        if outcome.kind is OutcomeKind.TRANSITIONED:
            assert outcome.state in TRANSITIONS[payment.state]
        else:
            assert outcome.payment == payment
        payment = outcome.payment


@settings(max_examples=300, deadline=None)
@given(histories)
def test_no_payment_is_confirmed_twice_and_final_states_stick(history: list[Action]) -> None:
    entered = [outcome.state for _, _, outcome in run(history) if outcome.kind is OutcomeKind.TRANSITIONED]
    assert entered.count(S.SUCCEEDED) <= 1
    for position, state in enumerate(entered):
        later = entered[position + 1 :]
        if state in {S.FAILED, S.REJECTED, S.CANCELLED, S.REVERSED}:
            assert later == []
        if state is S.SUCCEEDED:
            assert later in ([], [S.REVERSED])


@settings(max_examples=300, deadline=None)
@given(histories)
def test_reversed_is_only_ever_reached_from_succeeded(history: list[Action]) -> None:
    for before, _, outcome in run(history):
        if outcome.kind is OutcomeKind.TRANSITIONED and outcome.state is S.REVERSED:
            assert before is S.SUCCEEDED


@settings(max_examples=300, deadline=None)
@given(histories)
def test_unsigned_callbacks_never_move_money_state(history: list[Action]) -> None:
    for _, action, outcome in run(history):
        if isinstance(action, Said) and action.authenticity is UNSIGNED:
            assert outcome.kind is not OutcomeKind.TRANSITIONED or outcome.state in {S.SUBMITTED, S.PENDING}


@settings(max_examples=300, deadline=None)
@given(histories)
def test_a_provider_reference_once_known_never_changes(history: list[Action]) -> None:
    known = None
    for _, _, outcome in run(history):
        if known is not None:
            assert outcome.payment.provider_tx_ref == known
        known = outcome.payment.provider_tx_ref


@settings(max_examples=200, deadline=None)
@given(histories, evidence)
def test_the_same_evidence_applied_twice_changes_the_payment_at_most_once(
    history: list[Action], said: Said
) -> None:
    trail = run(history)
    payment = trail[-1][2].payment if trail else new_payment()
    first = payment.apply(said)
    second = first.payment.apply(said)
    assert second.kind is not OutcomeKind.TRANSITIONED


@settings(max_examples=200, deadline=None)
@given(
    st.permutations(
        [Said(S.PENDING), Said(S.SUCCEEDED, provider_tx_ref="TX-1"), Said(S.PENDING), Said(S.SUBMITTED)]
    )
)
def test_a_success_delivered_in_any_order_ends_succeeded(deliveries: list[Said]) -> None:
    payment = submitted_payment()
    for said in deliveries:
        payment = payment.apply(said).payment
    assert payment.state is S.SUCCEEDED
    assert payment.provider_tx_ref == "TX-1"


def test_a_timeout_on_send_leaves_the_payment_in_doubt_not_failed() -> None:
    sending = new_payment().approve().payment.start_submission().payment

    outcome = sending.record_send_result(S.UNKNOWN, FailureCode.TIMEOUT)

    assert outcome.state is S.UNKNOWN
    assert outcome.payment.failure_code is FailureCode.TIMEOUT


def test_failed_after_succeeded_is_a_status_conflict_that_changes_nothing() -> None:
    paid = submitted_payment().apply(Said(S.SUCCEEDED)).payment

    outcome = paid.apply(Said(S.FAILED, failure_code=FailureCode.RECIPIENT_NOT_FOUND))

    assert outcome.kind is OutcomeKind.CONFLICT
    assert outcome.discrepancy is Discrepancy.STATUS_CONFLICT
    assert outcome.state is S.SUCCEEDED
    assert outcome.needs_status_query


def test_pending_after_succeeded_is_ignored_as_stale() -> None:
    paid = submitted_payment().apply(Said(S.SUCCEEDED)).payment

    assert paid.apply(Said(S.PENDING)).kind is OutcomeKind.IGNORED


def test_a_reversal_before_any_success_is_refused() -> None:
    outcome = submitted_payment().apply(Said(S.REVERSED))

    assert outcome.kind is OutcomeKind.REFUSED
    assert outcome.state is S.SUBMITTED


def test_a_reversal_after_success_is_applied() -> None:
    paid = submitted_payment().apply(Said(S.SUCCEEDED)).payment

    assert paid.apply(Said(S.REVERSED, amount=30_000)).state is S.REVERSED


def test_an_unsigned_success_waits_for_a_status_query() -> None:
    outcome = submitted_payment().apply(Said(S.SUCCEEDED, authenticity=UNSIGNED))

    assert outcome.kind is OutcomeKind.UNCONFIRMED
    assert outcome.state is S.SUBMITTED
    assert outcome.needs_status_query


def test_an_unsigned_pending_is_applied() -> None:
    assert submitted_payment().apply(Said(S.PENDING, authenticity=UNSIGNED)).state is S.PENDING


def test_a_callback_that_overtakes_the_send_answer_wins() -> None:
    sending = new_payment().approve().payment.start_submission().payment
    paid = sending.apply(Said(S.SUCCEEDED)).payment

    outcome = paid.record_send_result(S.SUBMITTED)

    assert outcome.kind is OutcomeKind.IGNORED
    assert outcome.state is S.SUCCEEDED


def test_a_send_rejected_after_the_provider_reported_progress_is_a_conflict() -> None:
    sending = new_payment().approve().payment.start_submission().payment
    pending = sending.apply(Said(S.PENDING)).payment

    outcome = pending.record_send_result(S.REJECTED, FailureCode.INVALID_REQUEST)

    assert outcome.kind is OutcomeKind.CONFLICT
    assert outcome.state is S.PENDING


def test_a_success_for_another_amount_is_applied_and_flagged() -> None:
    outcome = submitted_payment().apply(Said(S.SUCCEEDED, amount=25_000, currency="XOF"))

    assert outcome.state is S.SUCCEEDED
    assert outcome.discrepancy is Discrepancy.AMOUNT_MISMATCH


def test_a_status_naming_another_provider_reference_is_a_conflict() -> None:
    paid = submitted_payment().apply(Said(S.SUCCEEDED, provider_tx_ref="TX-1")).payment

    outcome = paid.apply(Said(S.SUCCEEDED, provider_tx_ref="TX-2"))

    assert outcome.kind is OutcomeKind.CONFLICT
    assert outcome.discrepancy is Discrepancy.PROVIDER_REF_MISMATCH


def test_a_resend_while_in_doubt_keeps_the_attempt_and_its_key() -> None:
    sending = new_payment().approve().payment.start_submission().payment
    in_doubt = sending.record_send_result(S.UNKNOWN, FailureCode.TIMEOUT).payment

    resending = in_doubt.start_submission().expect_transition()

    assert resending.state is S.SUBMITTING
    assert (resending.attempt_no, resending.provider_request_key) == (1, sending.provider_request_key)


def test_a_reissue_after_a_definitive_failure_is_a_new_attempt_with_a_new_key() -> None:
    failed = submitted_payment().apply(Said(S.FAILED, failure_code=FailureCode.RECIPIENT_NOT_FOUND)).payment

    reissued = failed.reissue()

    assert reissued.instruction_id == failed.instruction_id
    assert reissued.attempt_no == 2
    assert reissued.provider_request_key != failed.provider_request_key
    assert reissued.reference == "J26Q1-000041B"
    assert reissued.state is S.CREATED


def test_a_payment_in_doubt_cannot_be_reissued() -> None:
    sending = new_payment().approve().payment.start_submission().payment
    in_doubt = sending.record_send_result(S.UNKNOWN, FailureCode.PROVIDER_UNAVAILABLE).payment

    with pytest.raises(Conflict):
        in_doubt.reissue()


def test_a_failure_without_a_code_is_recorded_as_unclassified() -> None:
    assert submitted_payment().apply(Said(S.FAILED)).payment.failure_code is FailureCode.UNCLASSIFIED


def test_cancelling_after_submission_is_refused_and_says_why() -> None:
    outcome = submitted_payment().cancel()

    assert outcome.kind is OutcomeKind.REFUSED
    with pytest.raises(Conflict):
        outcome.expect_transition()


@pytest.mark.parametrize(
    ("code", "retryable", "definitive"),
    [
        (FailureCode.RECIPIENT_NOT_FOUND, False, True),
        (FailureCode.NAME_MISMATCH, False, True),
        (FailureCode.INSUFFICIENT_FUNDS, True, True),
        (FailureCode.RECIPIENT_LIMIT, True, True),
        (FailureCode.DUPLICATE, False, False),
        (FailureCode.PROVIDER_UNAVAILABLE, True, False),
        (FailureCode.TIMEOUT, True, False),
    ],
)
def test_failure_codes_say_whether_to_retry_and_whether_money_provably_did_not_move(
    code: FailureCode, retryable: bool, definitive: bool
) -> None:
    assert (code.retryable, code.definitive) == (retryable, definitive)
