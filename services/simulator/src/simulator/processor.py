"""The processor: carries accepted payments to their fate on the event loop and announces them by callback."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Literal, Protocol

from simulator.behaviour import Behaviour, Dialect, FailureCode, PaymentFate
from simulator.callbacks import Callback, CallbackDispatcher, Delivery
from simulator.clock import utc_now
from simulator.ledger import Ledger, Payment, Undoing

CallbackEvent = Literal["final", "pending", "conflict", "reversed"]

#: The failure reported by a conflicting callback (a failure after the payment succeeded).
CONFLICT_FAILURE = FailureCode.PROVIDER_ERROR

#: Items finalised between two yields to the event loop while a batch is processed.
_BATCH_SLICE = 500


class Notifier(Protocol):
    """A dialect's way of telling the client about a payment: the callbacks for one event (maybe none)."""

    def callbacks(self, payment: Payment, event: CallbackEvent) -> list[Callback]: ...


class Processor:
    """Finalises payments after the dialect's processing delay, applies their fate, schedules callbacks."""

    def __init__(
        self,
        ledger: Ledger,
        dispatcher: CallbackDispatcher,
        behaviour: Callable[[Dialect], Behaviour],
    ) -> None:
        self._ledger = ledger
        self._dispatcher = dispatcher
        self._behaviour = behaviour
        self._epoch = 0
        self._tasks: set[asyncio.Task[None]] = set()

    def reset(self) -> None:
        """Abandons every payment still in flight (their timers fire into the void)."""
        self._epoch += 1
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()

    def accept(self, payment: Payment, fate: PaymentFate, notifier: Notifier | None) -> None:
        """Records the payment as pending; with no processing delay it is final before this returns."""
        self._ledger.add(payment)
        delay = self._behaviour(payment.dialect).processing_ms / 1000
        if delay <= 0:
            self._finalise(self._epoch, payment, fate, notifier)
        else:
            asyncio.get_running_loop().call_later(delay, self._finalise, self._epoch, payment, fate, notifier)

    def accept_batch(
        self,
        dialect: Dialect,
        items: list[tuple[Payment, PaymentFate]],
        on_done: Callable[[], None],
    ) -> None:
        """Records a batch as pending, then finalises it item by item, yielding to the loop now and then."""
        for payment, _ in items:
            self._ledger.add(payment)
        delay = self._behaviour(dialect).processing_ms / 1000
        task = asyncio.get_running_loop().create_task(
            self._finalise_batch(self._epoch, items, delay, on_done)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def undo(self, payment: Payment, undoing: Undoing, notifier: Notifier | None) -> bool:
        """Reverses (or returns) a successful payment now; False when it is not in a state to be undone."""
        if not self._ledger.undo(payment, undoing, utc_now()):
            return False
        if notifier is not None:
            for delivery in self._deliveries(payment, notifier, "reversed", payment.undoing or "reversed"):
                self._dispatcher.send(delivery)
        return True

    async def _finalise_batch(
        self,
        epoch: int,
        items: list[tuple[Payment, PaymentFate]],
        delay: float,
        on_done: Callable[[], None],
    ) -> None:
        await asyncio.sleep(delay)
        for done, (payment, fate) in enumerate(items, start=1):
            if epoch != self._epoch:
                return
            self._finalise(epoch, payment, fate, None)
            if done % _BATCH_SLICE == 0:
                await asyncio.sleep(0)
        if epoch == self._epoch:
            on_done()

    def _finalise(self, epoch: int, payment: Payment, fate: PaymentFate, notifier: Notifier | None) -> None:
        if epoch != self._epoch or payment.status != "pending":
            return
        succeeded = self._apply(payment, fate)
        if notifier is not None:
            self._announce(payment, fate, notifier)
        if fate.undoing and succeeded:
            loop = asyncio.get_running_loop()
            loop.call_later(fate.undo_after, self._undo_later, epoch, payment, fate.undoing, notifier)

    def _apply(self, payment: Payment, fate: PaymentFate) -> bool:
        """Fails or pays the payment as fated (an empty account fails it anyway); True when it was paid."""
        at = utc_now()
        if fate.failure is not None:
            self._ledger.fail(payment, fate.failure, at)
            return False
        paid = max(0, payment.requested_amount + fate.amount_delta)
        fee = self._behaviour(payment.dialect).fees.on(payment.requested_amount)
        if not self._ledger.settle(payment, paid=paid, fee=fee, at=at):
            return False
        if fate.reported == "paid":
            payment.reported_amount = paid
        return True

    def _announce(self, payment: Payment, fate: PaymentFate, notifier: Notifier) -> None:
        """The final callback, then (once it is done) its duplicate, a stale pending, a conflicting failure."""
        for delivery in self._deliveries(payment, notifier, "final", payment.status):
            if fate.duplicate_callback:
                twin = Delivery.of(delivery.callback, f"duplicate-{delivery.record.label}")
                payment.callbacks.append(twin.record)
                delivery.followers.append((twin, 0.0))
            if fate.out_of_order:
                stale = self._deliveries(payment, notifier, "pending", "out-of-order-pending")
                delivery.followers.extend((follower, 0.0) for follower in stale)
            if fate.conflicting and payment.status == "succeeded":
                conflict = self._deliveries(payment, notifier, "conflict", "conflicting-failed")
                delivery.followers.extend((follower, 0.0) for follower in conflict)
            self._dispatcher.send(delivery, fate.late_by)

    def _deliveries(
        self, payment: Payment, notifier: Notifier, event: CallbackEvent, label: str
    ) -> list[Delivery]:
        deliveries = [Delivery.of(callback, label) for callback in notifier.callbacks(payment, event)]
        payment.callbacks.extend(delivery.record for delivery in deliveries)
        return deliveries

    def _undo_later(self, epoch: int, payment: Payment, undoing: Undoing, notifier: Notifier | None) -> None:
        if epoch == self._epoch:
            self.undo(payment, undoing, notifier)
