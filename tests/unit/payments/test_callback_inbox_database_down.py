"""The callback inbox when the database cannot be reached: every waiting request gets its error, none hangs."""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime

import psycopg

from payments.db.inbox import CallbackInbox


def closed_port() -> int:
    listener = socket.create_server(("127.0.0.1", 0))
    port = int(listener.getsockname()[1])
    listener.close()
    return port


def test_callbacks_arriving_while_connections_fail_all_get_an_error_promptly() -> None:
    inbox = CallbackInbox(f"postgresql://filet@127.0.0.1:{closed_port()}/filet?connect_timeout=2", size=2)

    async def one(index: int) -> BaseException | None:
        await asyncio.sleep(index * 0.002)  # arrivals spread over the connection attempts
        try:
            await inbox.store(
                provider="wave",
                method="POST",
                path="/v1/callbacks/wave",
                headers={},
                body=b"{}",
                received_at=datetime.now(UTC),
                key=None,
                batch=False,
            )
        except Exception as error:
            return error
        return None

    async def everyone() -> list[BaseException | None]:
        return await asyncio.wait_for(asyncio.gather(*(one(index) for index in range(60))), timeout=20)

    outcomes = asyncio.run(everyone())
    assert len(outcomes) == 60
    assert all(isinstance(outcome, psycopg.OperationalError) for outcome in outcomes), outcomes[:3]
