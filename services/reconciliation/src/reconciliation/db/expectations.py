"""Expectations: one row per instruction, what should move and what payments says happened to it."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import Column, Connection, MetaData, Table, Text, func, or_, select

from reconciliation.db.bulk_update import update_rows
from reconciliation.db.keys import among, among_many
from reconciliation.db.tables import expectation
from reconciliation.domain.matching import UNSETTLED, Expectation, InstructionOutcome, PaymentState
from reconciliation.domain.summary import Group
from shared.bulk import insert_rows
from shared.events.contracts import PaymentOutcome, PaymentsInstructed

#: The payments service's canonical states (PROVIDERS.md §8.2) as reconciliation's matching reads them.
STATE_OF: dict[str, PaymentState] = {
    "CREATED": PaymentState.INSTRUCTED,
    "APPROVED": PaymentState.INSTRUCTED,
    "SUBMITTING": PaymentState.SUBMITTED,
    "SUBMITTED": PaymentState.SUBMITTED,
    "PENDING": PaymentState.PENDING,
    "UNKNOWN": PaymentState.UNKNOWN,
    "SUCCEEDED": PaymentState.SUCCEEDED,
    "FAILED": PaymentState.FAILED,
    "REJECTED": PaymentState.REJECTED,
    "CANCELLED": PaymentState.CANCELLED,
    "REVERSED": PaymentState.REVERSED,
}
_FINAL = frozenset(
    {
        PaymentState.SUCCEEDED,
        PaymentState.FAILED,
        PaymentState.REJECTED,
        PaymentState.CANCELLED,
        PaymentState.REVERSED,
    }
)

_INSTRUCTED_COLUMNS = (
    "instruction_id",
    "payment_id",
    "cycle_id",
    "programme_code",
    "period",
    "household_id",
    "provider",
    "modality",
    "payee",
    "amount",
    "currency",
    "region",
    "cercle",
    "commune",
    "provider_request_key",
    "state",
    "instructed_on",
    "settled_amount",
)


@dataclass(frozen=True, slots=True)
class Moved:
    """What a piece of payments' news sets on an expectation."""

    state: PaymentState
    provider_tx_ref: str | None
    confirmed_on: date | None
    confirmed_amount: int | None
    reported_status: str | None

    def on(self, stored: StoredExpectation) -> StoredExpectation:
        """The stored expectation as it is once this news is stored (its outcome as stored before)."""
        return replace(
            stored,
            expectation=replace(
                stored.expectation,
                state=self.state,
                provider_tx_ref=self.provider_tx_ref,
                confirmed_on=self.confirmed_on,
                confirmed_amount=self.confirmed_amount,
                reported_status=self.reported_status,
            ),
        )


@dataclass(frozen=True, slots=True)
class StoredExpectation:
    """An expectation with its cycle and the outcome last stored for it (the summary's `Reconciled`)."""

    expectation: Expectation
    cycle_id: UUID
    outcome: InstructionOutcome
    settled_amount: int


def state_of(reported: str) -> PaymentState:
    try:
        return STATE_OF[reported.upper()]
    except KeyError:
        return PaymentState(reported.lower())


_STATE_VALUES = {state.value: state for state in PaymentState}
_OUTCOME_VALUES: dict[str | None, InstructionOutcome] = {
    **{outcome.value: outcome for outcome in InstructionOutcome},
    None: InstructionOutcome.AWAITING_PROVIDER,
}


def _expectation(row: Any, shared: dict[Any, Any]) -> Expectation:
    """From a row of `_LOADED` (by position: a row's attributes cost more than the rest of the work);
    `shared` keeps one copy of the values many rows repeat (provider, region, dates…)."""
    one = shared.setdefault
    (
        instruction_id,
        _,
        provider,
        payee,
        amount,
        state,
        instructed_on,
        request_key,
        tx_ref,
        confirmed_on,
        confirmed_amount,
        reported_status,
        programme,
        region,
        commune,
        modality,
    ) = row[:16]
    return Expectation(
        instruction_id,
        one(provider, provider),
        payee,
        amount,
        _STATE_VALUES.get(state) or PaymentState(state),
        one(instructed_on, instructed_on),
        request_key,
        tx_ref,
        one(confirmed_on, confirmed_on),
        confirmed_amount,
        reported_status,
        one(programme, programme),
        one(region, region),
        one(commune, commune),
        one(modality, modality),
    )


_LOADED = (
    expectation.c.instruction_id,
    expectation.c.cycle_id,
    expectation.c.provider,
    expectation.c.payee,
    expectation.c.amount,
    expectation.c.state,
    expectation.c.instructed_on,
    expectation.c.provider_request_key,
    expectation.c.provider_tx_ref,
    expectation.c.confirmed_on,
    expectation.c.confirmed_amount,
    expectation.c.reported_status,
    expectation.c.programme_code,
    expectation.c.region,
    expectation.c.commune,
    expectation.c.modality,
    expectation.c.outcome,
    expectation.c.settled_amount,
)


class ExpectationRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add_instructed(self, event: PaymentsInstructed, *, on: date) -> list[str]:
        """New expectations (a redelivered or re-sent instruction changes nothing); returns the new ids."""
        rows = [
            (
                item.instruction_id,
                item.payment_id,
                event.cycle_id,
                event.programme_code,
                event.period,
                item.household_id,
                item.provider,
                item.modality,
                item.payee_msisdn or "",
                item.amount,
                item.currency,
                item.region,
                item.cercle,
                item.commune,
                item.provider_request_key,
                PaymentState.INSTRUCTED.value,
                on,
                0,
            )
            for item in event.items
        ]
        return insert_rows(
            self.connection,
            expectation,
            rows,
            columns=_INSTRUCTED_COLUMNS,
            conflict=["instruction_id"],
            returning="instruction_id",
        )

    def moved_by(self, items: Sequence[PaymentOutcome], *, conflicted: bool = False) -> dict[str, Moved]:
        """What payments reports does to the expectations known here (nothing is written: `rematch` writes
        the new states with the outcomes it judges from them, in one update).

        A non-final state never replaces a final one. A status conflict does not change the state (payments
        keeps it): the provider's claim is kept in `reported_status`.
        """
        ids = [item.instruction_id for item in items]
        current = {
            row.instruction_id: row
            for row in self.connection.execute(
                select(
                    expectation.c.instruction_id,
                    expectation.c.state,
                    expectation.c.provider_tx_ref,
                    expectation.c.confirmed_on,
                    expectation.c.confirmed_amount,
                    expectation.c.reported_status,
                ).where(expectation.c.instruction_id == among(ids))
            )
        }
        moved: dict[str, Moved] = {}
        for item in items:
            known = current.get(item.instruction_id)
            if known is None:
                continue
            before = moved.get(item.instruction_id) or Moved(
                state=PaymentState(known.state),
                provider_tx_ref=known.provider_tx_ref,
                confirmed_on=known.confirmed_on,
                confirmed_amount=known.confirmed_amount,
                reported_status=known.reported_status,
            )
            new = state_of(item.state)
            if conflicted or (before.state in _FINAL and new not in _FINAL):
                new = before.state
            confirmed_on, confirmed_amount = before.confirmed_on, before.confirmed_amount
            if new is PaymentState.SUCCEEDED and not conflicted:
                confirmed_on = item.at.date()
                confirmed_amount = item.amount if item.amount is not None else confirmed_amount
            moved[item.instruction_id] = Moved(
                state=new,
                provider_tx_ref=item.provider_tx_ref or before.provider_tx_ref,
                confirmed_on=confirmed_on,
                confirmed_amount=confirmed_amount,
                reported_status=(
                    (item.reported_status or item.state)
                    if conflicted
                    else (before.reported_status if item.instruction_id in moved else None)
                ),
            )
        return moved

    def load(self, instruction_ids: Collection[str]) -> list[StoredExpectation]:
        if not instruction_ids:
            return []
        rows = self.connection.execute(
            select(*_LOADED).where(
                expectation.c.instruction_id == among_many(self.connection, instruction_ids)
            )
        )
        shared: dict[Any, Any] = {}
        return [_stored(row, shared) for row in rows]

    def load_related(
        self, instruction_ids: Collection[str], references: Collection[str], providers: Collection[str]
    ) -> list[StoredExpectation]:
        """In one query: the given expectations, those `references` name (as `referenced_by`), and the
        providers' expectations that no statement line may name yet (judged UNSETTLED, or not yet)."""
        conditions = []
        if instruction_ids:
            conditions.append(expectation.c.instruction_id == among_many(self.connection, instruction_ids))
        if references:
            keys = among_many(self.connection, references)
            conditions.append(
                (expectation.c.instruction_id == keys)
                | (expectation.c.provider_request_key == keys)
                | (expectation.c.provider_tx_ref == keys)
            )
        if providers:
            conditions.append(
                (expectation.c.provider == among(providers))
                & (
                    expectation.c.outcome.is_(None)
                    | (expectation.c.outcome == among(outcome.value for outcome in UNSETTLED))
                )
            )
        if not conditions:
            return []
        rows = self.connection.execute(select(*_LOADED).where(or_(*conditions)))
        shared: dict[Any, Any] = {}
        return [_stored(row, shared) for row in rows]

    def referenced_by(self, references: Collection[str]) -> list[str]:
        """Instruction ids whose instruction id, provider request key or provider reference is given."""
        if not references:
            return []
        keys = among_many(self.connection, references)
        return list(
            self.connection.execute(
                select(expectation.c.instruction_id).where(
                    (expectation.c.instruction_id == keys)
                    | (expectation.c.provider_request_key == keys)
                    | (expectation.c.provider_tx_ref == keys)
                )
            ).scalars()
        )

    def of_cycle(self, cycle_id: UUID) -> list[StoredExpectation]:
        rows = self.connection.execute(
            select(*_LOADED).where(expectation.c.cycle_id == cycle_id).order_by(expectation.c.instruction_id)
        )
        shared: dict[Any, Any] = {}
        return [_stored(row, shared) for row in rows]

    def groups_of_cycle(self, cycle_id: UUID) -> list[Group]:
        """The cycle's expectations counted by summary keys, payment state and outcome, in SQL."""
        keys = (
            expectation.c.programme_code,
            expectation.c.region,
            expectation.c.commune,
            expectation.c.provider,
            expectation.c.modality,
            expectation.c.state,
            expectation.c.outcome,
        )
        rows = self.connection.execute(
            select(
                *keys,
                func.count(),
                func.sum(expectation.c.amount),
                func.sum(expectation.c.settled_amount),
            )
            .where(expectation.c.cycle_id == cycle_id)
            .group_by(*keys)
        )
        return [
            Group(
                programme=programme,
                region=region,
                commune=commune,
                provider=provider,
                modality=modality,
                state=PaymentState(state),
                outcome=InstructionOutcome(outcome or InstructionOutcome.AWAITING_PROVIDER.value),
                count=int(count),
                amount=int(amount),
                settled_amount=int(settled_amount),
            )
            for programme, region, commune, provider, modality, state, outcome, count, amount, settled_amount in rows
        ]

    def save_judged(self, rows: Iterable[tuple[Expectation, str, int]]) -> None:
        """(expectation, outcome, settled amount): the state payments reported and the outcome judged from it,
        in one update (two left a dead version of every row per piece of news)."""
        update_rows(
            self.connection,
            expectation,
            key=("instruction_id",),
            columns=(
                "state",
                "provider_tx_ref",
                "confirmed_on",
                "confirmed_amount",
                "reported_status",
                "outcome",
                "settled_amount",
            ),
            rows=(
                (
                    e.instruction_id,
                    e.state.value,
                    e.provider_tx_ref,
                    e.confirmed_on,
                    e.confirmed_amount,
                    e.reported_status,
                    outcome,
                    settled_amount,
                )
                for e, outcome, settled_amount in rows
            ),
            touch="updated_at",
        )

    def save_outcomes(self, rows: Iterable[tuple[str, str, int]]) -> None:
        """(instruction id, outcome, settled amount) for each expectation judged again."""
        update_rows(
            self.connection,
            expectation,
            key=("instruction_id",),
            columns=("outcome", "settled_amount"),
            rows=rows,
            touch="updated_at",
        )


def load_batch(connection: Connection, table: str, *, after: str, last: str) -> list[StoredExpectation]:
    """The expectations whose instruction ids are in the temporary table `table` (column instruction_id),
    after `after` up to `last`."""
    keys = Table(table, MetaData(), Column("instruction_id", Text))
    rows = connection.execute(
        select(*_LOADED)
        .join(keys, keys.c.instruction_id == expectation.c.instruction_id)
        .where(keys.c.instruction_id > after, keys.c.instruction_id <= last)
        .where(expectation.c.instruction_id > after, expectation.c.instruction_id <= last)
    )
    shared: dict[Any, Any] = {}
    return [_stored(row, shared) for row in rows]


def _stored(row: Any, shared: dict[Any, Any]) -> StoredExpectation:
    cycle_id, outcome, settled_amount = row[1], row[16], row[17]
    return StoredExpectation(
        expectation=_expectation(row, shared),
        cycle_id=cycle_id,
        outcome=_OUTCOME_VALUES.get(outcome)
        or InstructionOutcome(outcome or InstructionOutcome.AWAITING_PROVIDER.value),
        settled_amount=settled_amount,
    )
