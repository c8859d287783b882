"""The doorway: closes the server's listening sockets for a while, so that 'down' can mean connection refused."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Listener(Protocol):
    """A server that can stop and resume accepting connections (see `simulator.server.SimulatorServer`)."""

    async def close_listeners(self) -> None: ...

    async def reopen_listeners(self) -> None: ...


class Doorway:
    """Without an attached listener (the app served by another server) 'refuse' degrades to dropped connections."""

    def __init__(self) -> None:
        self._listener: Listener | None = None
        self._reopening: asyncio.TimerHandle | None = None
        self._closed_until: float | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def attach(self, listener: Listener) -> None:
        """Takes charge of the listener; a refusal asked for before (at start-up) begins now."""
        self._listener = listener
        if self._closed_until is not None:
            remaining = self._closed_until - time.monotonic()
            self._closed_until = None
            if remaining > 0:
                await self.close_for(remaining)

    async def close_for(self, seconds: float) -> None:
        """Refuses new connections for `seconds`; connections already open stay open."""
        if self._listener is None:
            self._closed_until = time.monotonic() + seconds
            return
        if self._reopening is None:
            await self._listener.close_listeners()
        else:
            self._reopening.cancel()
        self._reopening = asyncio.get_running_loop().call_later(seconds, self._schedule_reopen)

    async def reopen(self) -> None:
        self._closed_until = None
        if self._reopening is None or self._listener is None:
            return
        self._reopening.cancel()
        self._reopening = None
        await self._listener.reopen_listeners()

    def _schedule_reopen(self) -> None:
        task = asyncio.get_running_loop().create_task(self.reopen())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
