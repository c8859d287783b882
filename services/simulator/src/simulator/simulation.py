"""The simulation: one running simulator's state — behaviour, ledger, processor, callbacks — and request admission."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from starlette.responses import Response

from simulator.behaviour import (
    DIALECTS,
    Behaviour,
    Dialect,
    Dice,
    PaymentFate,
    RequestFate,
    amended,
    behaviour_from,
    payment_fate,
    request_fate,
)
from simulator.callbacks import CallbackDispatcher
from simulator.clock import utc_now
from simulator.config import SimulatorConfig
from simulator.doorway import Doorway
from simulator.incidents import DroppedConnection, garbage
from simulator.ledger import IncidentRecord, Ledger
from simulator.processor import Processor


class Desk(Protocol):
    """A simulated provider's front desk: its dialect, its way of saying 'unavailable', its own stores."""

    @property
    def dialect(self) -> Dialect: ...

    def outage(self, status_code: int) -> Response: ...

    def reset(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Admission:
    """The verdict on one request: refused outright, or executed but answered by an incident, or normal."""

    refusal: Response | None = None
    incident: Response | None = None

    def answer(self, response: Response) -> Response:
        return self.incident or response


class Simulation:
    """All state of one simulator; touched only from its event loop."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.seed = config.seed
        self._startup = config.behaviours()
        self._behaviours: dict[Dialect, Behaviour] = dict(self._startup)
        self.ledger = Ledger(config.accounts)
        self.dispatcher = CallbackDispatcher(config.callbacks)
        self.processor = Processor(self.ledger, self.dispatcher, self.behaviour)
        self.doorway = Doorway()
        self._desks: list[Desk] = []
        self._down_until: dict[Dialect, tuple[float, str]] = {}
        self._requests: Counter[tuple[str, str]] = Counter()
        self._attempts: Counter[tuple[str, str]] = Counter()
        self._ids = random.Random(f"{self.seed}|ids")

    def register(self, desk: Desk) -> None:
        self._desks.append(desk)

    def behaviour(self, dialect: Dialect) -> Behaviour:
        return self._behaviours[dialect]

    def behaviours(self) -> dict[Dialect, Behaviour]:
        return dict(self._behaviours)

    async def set_behaviour(self, layers: Mapping[str, Mapping[str, Any]], *, merge: bool) -> None:
        """Replaces (defaults + layer) or amends (current + layer) the behaviour of the dialects named.

        The key `all` applies to every dialect, before the dialect's own layer. All layers are validated
        before any is applied. A `down` knob takes effect from now.
        """
        unknown = set(layers) - {*DIALECTS, "all"}
        if unknown:
            raise ValueError(f"unknown dialects: {sorted(unknown)}")
        common = layers.get("all", {})
        named = DIALECTS if "all" in layers else tuple(d for d in DIALECTS if d in layers)
        updated: dict[Dialect, Behaviour] = {}
        for dialect in named:
            own = layers.get(dialect, {})
            if merge:
                updated[dialect] = amended(amended(self._behaviours[dialect], common), own)
            else:
                updated[dialect] = behaviour_from(dialect, common, own)
        self._behaviours.update(updated)
        for dialect, behaviour in updated.items():
            await self._go_down(dialect, behaviour)

    def new_uuid(self) -> str:
        """A version-4 UUID from the seeded generator: reproducible for a given order of requests, and not
        re-seeded by a reset (clients may keep ids from before it)."""
        return str(uuid.UUID(int=self._ids.getrandbits(128), version=4))

    def payment_fate(self, dialect: Dialect, our_reference: str) -> PaymentFate:
        """The fate of the n-th attempt at paying `our_reference` through `dialect`: reproducible per seed."""
        self._attempts[(dialect, our_reference)] += 1
        attempt = self._attempts[(dialect, our_reference)]
        dice = Dice(self.seed, dialect, "payment", our_reference, str(attempt))
        return payment_fate(self._behaviours[dialect], dice)

    async def admit(
        self,
        desk: Desk,
        *,
        key: str | None = None,
        reference: str | None = None,
        moves_money: bool = False,
    ) -> Admission:
        """Applies 'down', latency and request incidents; keyed requests draw reproducibly per key and resend."""
        dialect = desk.dialect
        if self._is_down(dialect):
            mode = self._down_until[dialect][1]
            return Admission(refusal=desk.outage(503) if mode == "unavailable" else DroppedConnection())
        behaviour = self._behaviours[dialect]
        fate = request_fate(behaviour, self._request_dice(dialect, key), moves_money=moves_money)
        if fate.latency > 0:
            await asyncio.sleep(fate.latency)
        if fate.incident is None:
            return Admission()
        executed = fate.executed if moves_money else None
        self.ledger.record_incident(
            IncidentRecord(dialect, fate.incident, key, reference, executed, utc_now())
        )
        answer = self._incident_answer(desk, fate, behaviour)
        return Admission(incident=answer) if fate.executed else Admission(refusal=answer)

    async def reset(self, *, seed: int | None = None, keep_behaviour: bool = False) -> None:
        """A clean slate: empty ledger (accounts funded again), no pending work, start-up behaviour, not down."""
        if seed is not None:
            self.seed = seed
        self.processor.reset()
        self.dispatcher.reset()
        self.ledger.reset()
        for desk in self._desks:
            desk.reset()
        if not keep_behaviour:
            self._behaviours = dict(self._startup)
        self._down_until.clear()
        self._requests.clear()
        self._attempts.clear()
        await self.doorway.reopen()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Lifespan: callback workers up, start-up 'down' windows armed; then everything stopped."""
        await self.dispatcher.start()
        for dialect, behaviour in self._behaviours.items():
            await self._go_down(dialect, behaviour)
        try:
            yield
        finally:
            await self.dispatcher.stop()

    def _request_dice(self, dialect: Dialect, key: str | None) -> Dice:
        name = key if key is not None else ""
        self._requests[(dialect, name)] += 1
        return Dice(self.seed, dialect, "request", name, str(self._requests[(dialect, name)]))

    def _is_down(self, dialect: Dialect) -> bool:
        window = self._down_until.get(dialect)
        return window is not None and time.monotonic() < window[0]

    async def _go_down(self, dialect: Dialect, behaviour: Behaviour) -> None:
        down = behaviour.down
        if down.seconds <= 0:
            self._down_until.pop(dialect, None)
            return
        self._down_until[dialect] = (time.monotonic() + down.seconds, down.mode)
        if down.mode == "refuse":
            await self.doorway.close_for(down.seconds)

    @staticmethod
    def _incident_answer(desk: Desk, fate: RequestFate, behaviour: Behaviour) -> Response:
        if fate.incident == "timeout_hang":
            return DroppedConnection(after=behaviour.timeouts.hang_seconds)
        if fate.incident == "timeout_drop":
            return DroppedConnection()
        if fate.incident == "server_error":
            return desk.outage(500)
        return garbage(fate.variant)
