"""The callback inbox's way in: one durable INSERT per callback over a few async psycopg connections, no ORM."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson
import psycopg

_INSERT = (
    'INSERT INTO "payments".raw_callback '
    "(provider, method, path, headers, body, received_at, key, batch, outcome, detail) "
    "SELECT * FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[]::jsonb[], %b::bytea[], %b::timestamptz[], "
    "%b::text[], %b::boolean[], %b::text[], %b::text[])"
)
# Binary parameters (`%b`): arrays of text go as they are, where the text format escaped every element.
#: Rows per INSERT at most (callbacks that arrived while the previous INSERTs were running).
_MOST = 500

_Connection = psycopg.AsyncConnection[tuple[Any, ...]]


class CallbackInbox:
    """A tiny pool of autocommit `psycopg.AsyncConnection`s, opened lazily in the event loop that uses them.

    Callbacks that arrive while every connection is busy are written together by the next INSERT (one round
    trip, autocommit): `store` returns once its row is committed, never before. The queue holds one slot
    per connection (an idle connection, or None for one not opened yet or dropped after an error). The
    connections belong to one event loop; if another loop calls (a second test client), the old ones are
    dropped and new ones opened.
    """

    def __init__(self, conninfo: str, *, size: int = 4, application_name: str = "payments-callbacks") -> None:
        self._conninfo = conninfo
        self._size = size
        self._application_name = application_name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots: asyncio.Queue[_Connection | None] | None = None
        self._opened: list[_Connection] = []
        self._waiting: list[tuple[tuple[Any, ...], asyncio.Future[None]]] = []
        self._writers: set[asyncio.Task[None]] = set()

    async def store(
        self,
        *,
        provider: str,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body: bytes,
        received_at: datetime,
        key: str | None,
        batch: bool,
        outcome: str | None = None,
        detail: str | None = None,
    ) -> None:
        """Keep one callback as received; `outcome` None means pending (processed later from the inbox)."""
        params = (
            provider,
            method,
            path,
            orjson.dumps(dict(headers)).decode(),
            body,
            received_at,
            key,
            batch,
            outcome,
            (detail or "")[:2000] or None,
        )
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((params, done))
        if len(self._writers) < self._size:
            writer = asyncio.create_task(self._write())
            self._writers.add(writer)
            writer.add_done_callback(self._writers.discard)
        await done

    async def _write(self) -> None:
        """Write what is waiting, a few hundred rows per INSERT, until nothing is."""
        while self._waiting:
            batch, self._waiting = self._waiting[:_MOST], self._waiting[_MOST:]
            columns = [list(column) for column in zip(*(params for params, _ in batch), strict=True)]
            try:
                connection = await self._acquire()
            except BaseException as error:
                # Fail this batch and go on: the rest still waiting fail the same way (or succeed once the
                # database is back), rather than wait for a writer that is no longer there.
                _fail(batch, error)
                if not isinstance(error, Exception):
                    raise
                continue
            try:
                await connection.execute(_INSERT, columns)
            except BaseException as error:
                await self._discard(connection)
                _fail(batch, error)
                if not isinstance(error, Exception):
                    raise
                continue
            self._release(connection)
            for _, done in batch:
                if not done.done():
                    done.set_result(None)

    async def close(self) -> None:
        """Close every connection (on the app's shutdown)."""
        opened, self._opened, self._slots, self._loop = self._opened, [], None, None
        for connection in opened:
            await connection.close()

    async def _acquire(self) -> _Connection:
        """An idle connection, or a free slot filled with a new one (waits while all are busy)."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._slots is None:
            self._forget()
            self._loop, self._slots = loop, asyncio.Queue()
            for _ in range(self._size):
                self._slots.put_nowait(None)
        slots = self._slots
        connection = await slots.get()
        if connection is not None:
            return connection
        try:
            connection = await psycopg.AsyncConnection.connect(
                self._conninfo, autocommit=True, application_name=self._application_name
            )
        except BaseException:
            slots.put_nowait(None)
            raise
        self._opened.append(connection)
        return connection

    def _release(self, connection: _Connection) -> None:
        if self._slots is not None and connection in self._opened:
            self._slots.put_nowait(connection)

    async def _discard(self, connection: _Connection) -> None:
        """A connection that failed mid-statement is closed, not reused; its slot is freed for a new one."""
        if self._slots is None or connection not in self._opened:
            return
        self._opened.remove(connection)
        self._slots.put_nowait(None)
        with contextlib.suppress(psycopg.Error):
            await connection.close()

    def _forget(self) -> None:
        """Drop connections opened in another (finished) event loop without awaiting on it."""
        for connection in self._opened:
            connection.pgconn.finish()
        self._opened = []


def _fail(batch: list[tuple[tuple[Any, ...], asyncio.Future[None]]], error: BaseException) -> None:
    failure = error if isinstance(error, Exception) else ConnectionError("the callback inbox was interrupted")
    for _, done in batch:
        if not done.done():
            done.set_exception(failure)
