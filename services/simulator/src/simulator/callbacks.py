"""Callback delivery: a fixed pool of workers (bounded concurrency), each with its own keep-alive client, retries."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from simulator.clock import utc_now
from simulator.config import CallbackSettings
from simulator.ledger import CallbackRecord
from simulator.wire import CallbackClient, WireError

Signer = Callable[[bytes], dict[str, str]]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Callback:
    """What a dialect sends: method, URL, exact body bytes, headers; `signer` adds headers at each attempt."""

    url: str
    method: str
    body: bytes
    headers: dict[str, str]
    signer: Signer | None = None


@dataclass(slots=True, eq=False)
class Delivery:
    """A callback on its way, its ledger record, and the deliveries that must follow it once it is done."""

    callback: Callback
    record: CallbackRecord
    followers: list[tuple[Delivery, float]] = field(default_factory=list)

    @classmethod
    def of(cls, callback: Callback, label: str) -> Delivery:
        record = CallbackRecord(label=label, url=callback.url, method=callback.method, scheduled_at=utc_now())
        return cls(callback, record)


class CallbackDispatcher:
    """Queues deliveries (optionally after a delay) and sends them with at most `concurrency` in flight."""

    def __init__(self, settings: CallbackSettings) -> None:
        self._settings = settings
        self._queue: asyncio.Queue[tuple[int, Delivery]] = asyncio.Queue()
        self._workers: list[asyncio.Task[None]] = []
        self._clients: list[CallbackClient] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._epoch = 0
        self._stats: dict[str, int] = {}
        self._reset_stats()

    async def start(self) -> None:
        """One client per worker, so a worker's keep-alive connections are its own."""
        self._loop = asyncio.get_running_loop()
        self._clients = [
            CallbackClient(timeout=self._settings.timeout_seconds) for _ in range(self._settings.concurrency)
        ]
        self._workers = [asyncio.create_task(self._work(client)) for client in self._clients]

    async def stop(self) -> None:
        for worker in self._workers:
            worker.cancel()
        for worker in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        self._workers = []
        for client in self._clients:
            await client.close()
        self._clients = []

    def send(self, delivery: Delivery, delay: float = 0.0) -> None:
        """Schedules a delivery; the ledger record shows it at once, delivered or not."""
        if delivery.record.attempts == 0:
            self._stats["scheduled"] += 1
        self._enqueue_later(self._epoch, delivery, delay)

    def reset(self) -> None:
        """Forgets every pending delivery, including those waiting for their delay."""
        self._epoch += 1
        while not self._queue.empty():
            self._queue.get_nowait()
        self._reset_stats()

    def stats(self) -> dict[str, Any]:
        return {**self._stats, "queued": self._queue.qsize()}

    def _reset_stats(self) -> None:
        self._stats = {"scheduled": 0, "delivered": 0, "failed_attempts": 0, "given_up": 0}

    def _enqueue_later(self, epoch: int, delivery: Delivery, delay: float) -> None:
        if delay <= 0 or self._loop is None:
            self._queue.put_nowait((epoch, delivery))
        else:
            self._loop.call_later(delay, self._queue.put_nowait, (epoch, delivery))

    async def _work(self, client: CallbackClient) -> None:
        while True:
            epoch, delivery = await self._queue.get()
            if epoch != self._epoch:
                continue
            try:
                await self._deliver(client, epoch, delivery)
            except Exception:  # a worker must outlive any one delivery
                _log.exception("callback delivery to %s failed unexpectedly", delivery.callback.url)

    async def _deliver(self, client: CallbackClient, epoch: int, delivery: Delivery) -> None:
        record = delivery.record
        record.attempts += 1
        callback = delivery.callback
        headers = (callback.headers | callback.signer(callback.body)) if callback.signer else callback.headers
        try:
            status = await client.request(callback.method, callback.url, callback.body, headers)
            record.status_code, record.error = status, None
            delivered = 200 <= status < 300
        except WireError as error:
            record.error, delivered = str(error), False
        if epoch != self._epoch:
            return
        if delivered:
            record.delivered_at = utc_now()
            self._stats["delivered"] += 1
        else:
            self._stats["failed_attempts"] += 1
            if record.attempts < self._settings.max_attempts:
                backoff = self._settings.retry_base_ms / 1000 * 2 ** (record.attempts - 1)
                self._enqueue_later(epoch, delivery, backoff)
                return
            self._stats["given_up"] += 1
        for follower, delay in delivery.followers:
            self.send(follower, delay)
