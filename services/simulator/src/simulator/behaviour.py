"""Behaviour knobs per dialect, and the seeded draws that turn them into the fate of a payment or a request."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Dialect = Literal["gsma", "mtn", "wave", "orange"]
DIALECTS: tuple[Dialect, ...] = ("gsma", "mtn", "wave", "orange")

Rate = Annotated[float, Field(ge=0.0, le=1.0)]
Milliseconds = Annotated[int, Field(ge=0, le=3_600_000)]


class FailureCode(StrEnum):
    """Canonical failure codes (PROVIDERS.md §8.4); each dialect spells them its own way."""

    RECIPIENT_NOT_FOUND = "RECIPIENT_NOT_FOUND"
    RECIPIENT_BLOCKED = "RECIPIENT_BLOCKED"
    RECIPIENT_LIMIT = "RECIPIENT_LIMIT"
    NAME_MISMATCH = "NAME_MISMATCH"
    INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
    AMOUNT_OUT_OF_RANGE = "AMOUNT_OUT_OF_RANGE"
    PROVIDER_ERROR = "PROVIDER_ERROR"
    EXPIRED = "EXPIRED"


class Knob(BaseModel):
    """A frozen, strict group of settings: unknown fields are refused rather than ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Latency(Knob):
    fixed_ms: Milliseconds = 0
    jitter_ms: Milliseconds = 0


class Incidents(Knob):
    """A request-level incident: how often, and in what share of cases the payment was executed anyway."""

    rate: Rate = 0.0
    executed_share: Rate = 0.0


class Timeouts(Incidents):
    """No result: the answer hangs past the client's timeout, or the connection is dropped."""

    executed_share: Rate = 0.5
    mode: Literal["hang", "drop", "mixed"] = "hang"
    hang_seconds: float = Field(default=30.0, ge=0.0, le=600.0)


class LateCallbacks(Knob):
    rate: Rate = 0.0
    delay_ms: Milliseconds = 5_000


class AmountMismatch(Knob):
    """Pays `requested + delta`; callbacks and status queries report the requested or the paid amount."""

    rate: Rate = 0.0
    delta: int = Field(default=-5_000, ge=-(10**12), le=10**12)
    reported: Literal["requested", "paid"] = "requested"


class Reversals(Knob):
    """A successful payment later undone: a reversal (RvslInd / RD) or, for `returned_share`, a return (RtrInf)."""

    rate: Rate = 0.0
    delay_ms: Milliseconds = 1_000
    returned_share: Rate = 0.0


class Fees(Knob):
    """What the provider charges per successful payment, in whole XOF: fixed + amount x per_mille / 1000."""

    fixed: int = Field(default=0, ge=0)
    per_mille: int = Field(default=0, ge=0, le=1000)

    def on(self, amount: int) -> int:
        return self.fixed + amount * self.per_mille // 1000


class Down(Knob):
    """For `seconds` from the moment it is set: 503 answers, or connection refused for the whole server."""

    seconds: float = Field(default=0.0, ge=0.0, le=86_400.0)
    mode: Literal["unavailable", "refuse"] = "unavailable"


class Behaviour(Knob):
    """How one simulated provider behaves. Every random choice comes from the seeded dice below."""

    latency: Latency = Latency()
    processing_ms: Milliseconds = 50
    failures: dict[FailureCode, Rate] = Field(default_factory=dict)
    incident_scope: Literal["payments", "all"] = "payments"
    timeouts: Timeouts = Timeouts()
    server_errors: Incidents = Incidents()
    garbage: Incidents = Incidents()
    duplicate_callbacks: Rate = 0.0
    late_callbacks: LateCallbacks = LateCallbacks()
    out_of_order_callbacks: Rate = 0.0
    conflicting_callbacks: Rate = 0.0
    amount_mismatch: AmountMismatch = AmountMismatch()
    reversals: Reversals = Reversals()
    fees: Fees = Fees()
    down: Down = Down()

    @model_validator(mode="after")
    def _rates_add_up(self) -> Behaviour:
        if sum(self.failures.values()) > 1.0 + 1e-9:
            raise ValueError("failure rates add up to more than 1")
        if self.timeouts.rate + self.server_errors.rate + self.garbage.rate > 1.0 + 1e-9:
            raise ValueError("timeout, server-error and garbage rates add up to more than 1")
        return self


_DEFAULT_FEES: dict[Dialect, Fees] = {
    "gsma": Fees(per_mille=5),
    "mtn": Fees(),
    "wave": Fees(per_mille=10),
    "orange": Fees(per_mille=5),
}


def default_behaviour(dialect: Dialect) -> Behaviour:
    """The well-behaved provider: no failures, no incidents, the dialect's usual fees."""
    return Behaviour(fees=_DEFAULT_FEES[dialect])


def behaviour_from(dialect: Dialect, *layers: Mapping[str, Any]) -> Behaviour:
    """The dialect's default behaviour with each layer of (possibly partial, nested) knobs merged over it."""
    merged: dict[str, Any] = default_behaviour(dialect).model_dump(mode="json")
    for layer in layers:
        merged = _deep_merge(merged, layer)
    return Behaviour.model_validate(merged)


def amended(behaviour: Behaviour, layer: Mapping[str, Any]) -> Behaviour:
    """The behaviour with (possibly partial, nested) knobs merged over it."""
    return Behaviour.model_validate(_deep_merge(behaviour.model_dump(mode="json"), layer))


def _deep_merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in update.items():
        current = merged.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping) and key != "failures":
            merged[key] = _deep_merge(current, value)
        else:
            merged[key] = value
    return merged


class Dice:
    """Reproducible draws: the same seed and key always give the same sequence, whatever the arrival order."""

    __slots__ = ("_rng",)

    def __init__(self, seed: int, *key: str) -> None:
        self._rng = random.Random("|".join((str(seed), *key)))

    def chance(self, rate: float) -> bool:
        """Always draws, so that changing one knob does not reshuffle the others."""
        return self._rng.random() < rate

    def fraction(self) -> float:
        return self._rng.random()

    def pick(self, rates: Mapping[FailureCode, float]) -> FailureCode | None:
        roll = self._rng.random()
        for code, rate in rates.items():
            if roll < rate:
                return code
            roll -= rate
        return None


@dataclass(frozen=True, slots=True)
class PaymentFate:
    """Everything the simulator will do to one payment, decided when it is accepted."""

    failure: FailureCode | None
    amount_delta: int
    reported: Literal["requested", "paid"]
    duplicate_callback: bool
    late_by: float
    out_of_order: bool
    conflicting: bool
    undoing: Literal["reversal", "return"] | None
    undo_after: float


def payment_fate(behaviour: Behaviour, dice: Dice) -> PaymentFate:
    failure = dice.pick(behaviour.failures)
    mismatch = dice.chance(behaviour.amount_mismatch.rate)
    duplicate = dice.chance(behaviour.duplicate_callbacks)
    late = dice.chance(behaviour.late_callbacks.rate)
    out_of_order = dice.chance(behaviour.out_of_order_callbacks)
    conflicting = dice.chance(behaviour.conflicting_callbacks)
    undone = dice.chance(behaviour.reversals.rate)
    returned = dice.chance(behaviour.reversals.returned_share)
    undoing: Literal["reversal", "return"] | None = None
    if undone and failure is None:
        undoing = "return" if returned else "reversal"
    return PaymentFate(
        failure=failure,
        amount_delta=behaviour.amount_mismatch.delta if mismatch and failure is None else 0,
        reported=behaviour.amount_mismatch.reported,
        duplicate_callback=duplicate,
        late_by=behaviour.late_callbacks.delay_ms / 1000 if late else 0.0,
        out_of_order=out_of_order,
        conflicting=conflicting and failure is None,
        undoing=undoing,
        undo_after=behaviour.reversals.delay_ms / 1000,
    )


IncidentKind = Literal["timeout_hang", "timeout_drop", "server_error", "garbage"]


@dataclass(frozen=True, slots=True)
class RequestFate:
    """What happens to one HTTP request: how long it waits, and which incident (if any) replaces its answer."""

    latency: float
    incident: IncidentKind | None
    executed: bool
    variant: float


def request_fate(behaviour: Behaviour, dice: Dice, *, moves_money: bool) -> RequestFate:
    latency = (behaviour.latency.fixed_ms + behaviour.latency.jitter_ms * dice.fraction()) / 1000
    roll, executed_roll, variant = dice.fraction(), dice.fraction(), dice.fraction()
    if not moves_money and behaviour.incident_scope == "payments":
        return RequestFate(latency=latency, incident=None, executed=True, variant=variant)
    incident: IncidentKind | None = None
    share = 1.0
    if roll < behaviour.timeouts.rate:
        incident = _timeout_kind(behaviour.timeouts.mode, variant)
        share = behaviour.timeouts.executed_share
    elif roll < behaviour.timeouts.rate + behaviour.server_errors.rate:
        incident, share = "server_error", behaviour.server_errors.executed_share
    elif roll < behaviour.timeouts.rate + behaviour.server_errors.rate + behaviour.garbage.rate:
        incident, share = "garbage", behaviour.garbage.executed_share
    executed = incident is None or not moves_money or executed_roll < share
    return RequestFate(latency=latency, incident=incident, executed=executed, variant=variant)


def _timeout_kind(mode: Literal["hang", "drop", "mixed"], variant: float) -> IncidentKind:
    if mode == "hang" or (mode == "mixed" and variant < 0.5):
        return "timeout_hang"
    return "timeout_drop"
