"""The simulator's callback client against real sockets: keep-alive, answers of every framing, and failures."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

import pytest

from simulator.wire import CallbackClient, WireError

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def serving(handler: Handler) -> tuple[asyncio.Server, str, list[int]]:
    """A server on loopback; the list counts its connections."""
    connections: list[int] = []

    async def counted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            await handler(reader, writer)
        finally:
            writer.close()

    server = await asyncio.start_server(counted, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}", connections


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
    )
    return head + await reader.readexactly(length)


def answering(*answers: bytes, seen: list[bytes] | None = None) -> Handler:
    """Answers each request on a connection with the next of `answers`, then closes."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for answer in answers:
            request = await read_request(reader)
            if seen is not None:
                seen.append(request)
            writer.write(answer)
            await writer.drain()

    return handler


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"


def test_callbacks_share_one_kept_alive_connection_and_carry_what_was_asked() -> None:
    seen: list[bytes] = []

    async def scenario() -> tuple[list[int], int]:
        server, url, connections = await serving(answering(OK, OK, OK, seen=seen))
        client = CallbackClient(timeout=5)
        statuses = [
            await client.request("PUT", f"{url}/v1/callbacks/mtn/k{n}?x=1", b'{"n":1}', {"X-A": "b"})
            for n in range(3)
        ]
        await client.close()
        server.close()
        return statuses, len(connections)

    statuses, connections = asyncio.run(scenario())
    assert statuses == [200, 200, 200]
    assert connections == 1
    head, body = seen[0].split(b"\r\n\r\n")
    assert head.split(b"\r\n")[0] == b"PUT /v1/callbacks/mtn/k0?x=1 HTTP/1.1"
    assert b"X-A: b" in head
    assert b"Content-Length: 7" in head
    assert body == b'{"n":1}'


def test_answers_framed_by_chunks_by_length_and_by_the_end_of_the_connection_are_read() -> None:
    chunked = b"HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    until_eof = b"HTTP/1.0 500 Internal Server Error\r\n\r\n<html>oops</html>"

    async def scenario() -> tuple[list[int], int]:
        server, url, connections = await serving(answering(chunked, OK, until_eof))
        client = CallbackClient(timeout=5)
        statuses = [await client.request("POST", f"{url}/cb", b"{}", {}) for _ in range(3)]
        again = await client.request("POST", f"{url}/cb", b"{}", {})
        await client.close()
        server.close()
        return [*statuses, again], len(connections)

    statuses, connections = asyncio.run(scenario())
    assert statuses == [204, 200, 500, 204]
    assert connections == 2  # the HTTP/1.0 answer closed the first connection


def test_an_idle_connection_closed_by_the_server_is_replaced() -> None:
    async def scenario() -> tuple[list[int], int]:
        server, url, connections = await serving(answering(OK))  # one answer per connection, then closed
        client = CallbackClient(timeout=5)
        first = await client.request("POST", f"{url}/cb", b"{}", {})
        # Whether or not the close has reached the client yet, the second callback goes on a new connection.
        second = await client.request("POST", f"{url}/cb", b"{}", {})
        await client.close()
        server.close()
        return [first, second], len(connections)

    assert asyncio.run(scenario()) == ([200, 200], 2)


def test_refused_silent_and_garbage_answers_are_wire_errors() -> None:
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.sleep(5)

    async def scenario() -> list[str]:
        errors = []
        client = CallbackClient(timeout=0.3)
        for url in (f"http://127.0.0.1:{port}/cb", "ftp://example.org/cb"):
            with pytest.raises(WireError) as refused:
                await client.request("POST", url, b"{}", {})
            errors.append(str(refused.value))
        server, url, _ = await serving(silent)
        with pytest.raises(WireError) as timed_out:
            await client.request("POST", f"{url}/cb", b"{}", {})
        errors.append(str(timed_out.value))
        server.close()
        server, url, _ = await serving(answering(b"<html>Bad Gateway</html>\r\n\r\n"))
        with pytest.raises(WireError) as garbage:
            await client.request("POST", f"{url}/cb", b"{}", {})
        errors.append(str(garbage.value))
        server.close()
        await client.close()
        return errors

    refused, not_http, timed_out, garbage = asyncio.run(scenario())
    assert "Connect" in refused or "refused" in refused.lower()
    assert "not an http(s) URL" in not_http
    assert "no answer within 0.3 s" in timed_out
    assert "not an HTTP answer" in garbage
