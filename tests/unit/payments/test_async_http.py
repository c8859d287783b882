"""The dispatcher's asyncio HTTP client against a real socket server on loopback: the same promises as the
threaded transport (keep-alive, stale connections noticed, timeouts and broken answers as httpx's errors,
nothing resent), with many requests in flight on one event loop."""

from __future__ import annotations

import asyncio
import gc
import socket
import ssl
import subprocess
import threading
import time
import warnings
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
import uvloop

from payments.providers.async_http import AsyncHttp

T = TypeVar("T")

#: The event loops the client must work on: the standard one, and uvloop (the dispatcher's).
LOOPS: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "asyncio": asyncio.new_event_loop,
    "uvloop": uvloop.new_event_loop,
}
_loop: list[Callable[[], asyncio.AbstractEventLoop]] = [asyncio.new_event_loop]


@pytest.fixture(autouse=True, params=sorted(LOOPS))
def event_loop_kind(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every scenario runs on each loop (`run` below makes its loop with the one chosen here)."""
    _loop[0] = LOOPS[request.param]
    yield
    _loop[0] = asyncio.new_event_loop


#: What the server answers to the nth request (from 1) it read: the bytes to send, or None to hang up silently.
Reply = Callable[[bytes, int], bytes | None]


class Server:
    """An HTTP/1.1 server on loopback, one thread per connection, recording what it was sent.

    It reads each request whole (head, then a Content-Length body) before answering as `reply` says, so a
    request counted here is one the server has received in full.
    """

    def __init__(self, reply: Reply, *, tls: ssl.SSLContext | None = None) -> None:
        self.reply = reply
        self.tls = tls
        self.connections = 0
        self.disconnects = 0
        self.requests: list[bytes] = []
        #: Request numbers after whose answer the server closes the connection without announcing it.
        self.close_after: set[int] = set()
        #: Request numbers after which the server resets the connection (RST) instead of answering.
        self.reset_on: set[int] = set()
        self.closed_quietly = threading.Event()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        try:
            if self.tls is not None:
                sock = self.tls.wrap_socket(sock, server_side=True)
            self._converse(sock)
        except OSError:
            pass
        finally:
            sock.close()
            with self._lock:
                self.disconnects += 1

    def _converse(self, sock: socket.socket) -> None:
        pending = b""
        while True:
            while b"\r\n\r\n" not in pending:
                data = sock.recv(65536)
                if not data:
                    return
                pending += data
            head, _, pending = pending.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            while len(pending) < length:
                data = sock.recv(65536)
                if not data:
                    return
                pending += data
            request, pending = head + b"\r\n\r\n" + pending[:length], pending[length:]
            with self._lock:
                self.requests.append(request)
                number = len(self.requests)
            if number in self.reset_on:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                return
            answer = self.reply(request, number)
            if answer is None:
                return
            sock.sendall(answer)
            if number in self.close_after:
                sock.shutdown(socket.SHUT_RDWR)
                self.closed_quietly.set()
                return

    def head(self, number: int) -> bytes:
        """The head of the nth request, header names lowercased (clients may spell them either way)."""
        head = self.requests[number - 1].split(b"\r\n\r\n", 1)[0]
        first, *fields = head.split(b"\r\n")
        return b"\r\n".join([first, *(self._lower_name(field) for field in fields)])

    @staticmethod
    def _lower_name(field: bytes) -> bytes:
        name, _, value = field.partition(b":")
        return name.lower() + b":" + value

    def close(self) -> None:
        self._listener.close()


def ok(body: bytes = b'{"ok":true}', *, extra: bytes = b"") -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        + extra
        + b"Content-Length: %d\r\n\r\n" % len(body)
        + body
    )


def target(request: bytes) -> bytes:
    return request.split(b" ", 2)[1]


@pytest.fixture
def serve() -> Iterator[Callable[..., Server]]:
    servers: list[Server] = []

    def start(reply: Reply, *, tls: ssl.SSLContext | None = None) -> Server:
        server = Server(reply, tls=tls)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def first_held(serve: Callable[..., Server]) -> Iterator[tuple[Server, threading.Event]]:
    """A server that holds its first request until the event is set (5 s at most), then answers each
    request with its number (`{"n": 2}`)."""
    release = threading.Event()

    def reply(request: bytes, number: int) -> bytes:
        if number == 1:
            release.wait(5)
        return ok(b'{"n":%d}' % number)

    yield serve(reply), release
    release.set()


def run(scenario: Callable[[AsyncHttp], Awaitable[T]], http: AsyncHttp | None = None) -> T:
    """The scenario's result, run on a fresh event loop with a client closed afterwards.

    A connection left for the garbage collector to close (one the client forgot on an error) is a failure:
    asyncio says so with a ResourceWarning, which is otherwise silent.
    """
    client = http or AsyncHttp()

    async def main() -> T:
        try:
            return await scenario(client)
        finally:
            await client.aclose()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        with asyncio.Runner(loop_factory=_loop[0]) as runner:
            result = runner.run(main())
        gc.collect()
    assert [str(warning.message) for warning in caught if warning.category is ResourceWarning] == []
    return result


async def until(condition: Callable[[], bool], seconds: float = 5) -> bool:
    """Whether the condition came true within the time, the loop running meanwhile."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


def test_requests_carry_method_target_headers_and_body_on_one_kept_alive_connection(
    serve: Callable[..., Server],
) -> None:
    server = serve(lambda request, number: ok(b'{"n":%d}' % number))

    async def scenario(http: AsyncHttp) -> list[httpx.Response]:
        return [
            await http.request(
                "POST",
                f"{server.url}/transfer?x=1",
                json={"amount": "30000"},
                headers={"X-Reference-Id": "k1"},
                timeout=5,
            ),
            await http.request("get", f"{server.url}/transfer/k%2F1", headers={"accept": "application/json"}),
            await http.request("PUT", f"{server.url}/empty", timeout=httpx.Timeout(5.0)),
        ]

    posted, got, put = run(scenario)
    assert [response.json() for response in (posted, got, put)] == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert (posted.status_code, posted.reason_phrase, posted.http_version) == (200, "OK", "HTTP/1.1")
    assert posted.headers["content-type"] == "application/json"
    assert server.connections == 1
    post = server.head(1)
    assert post.startswith(b"POST /transfer?x=1 HTTP/1.1\r\n")
    assert b"\r\nhost: 127.0.0.1:%d\r\n" % server.port in post + b"\r\n"
    for field in (
        b"accept: */*",
        b"user-agent: filet",
        b"x-reference-id: k1",
        b"content-type: application/json",
        b"content-length: 18",
    ):
        assert b"\r\n" + field + b"\r\n" in post + b"\r\n"
    assert post.count(b"\r\nhost:") == 1
    assert server.requests[0].endswith(b'\r\n\r\n{"amount":"30000"}')
    get = server.head(2)
    assert get.startswith(b"GET /transfer/k%2F1 HTTP/1.1\r\n")  # percent-encoding sent as given
    assert get.count(b"\r\naccept:") == 1  # the caller's Accept replaced the default
    assert b"\r\naccept: application/json" in get
    assert b"content-length" not in get  # no body, no length on a GET
    assert server.head(3).startswith(b"PUT /empty HTTP/1.1\r\n")
    assert b"\r\ncontent-length: 0" in server.head(3)  # ...but a PUT without body says it is empty


def test_basic_auth_params_and_user_agent(serve: Callable[..., Server]) -> None:
    server = serve(lambda request, number: ok())

    async def scenario(http: AsyncHttp) -> None:
        await http.request("POST", f"{server.url}/token/", auth=("filet", "s3cret"), timeout=5)
        await http.request("GET", f"{server.url}/items", params={"offset": 0, "limit": 1000}, timeout=5)
        await http.request("GET", f"{server.url}/items?status=paid", params={"q": "a b/&"}, timeout=5)

    run(scenario, AsyncHttp(user_agent="filet-test"))
    assert b"\r\nAuthorization: Basic ZmlsZXQ6czNjcmV0\r\n" in server.requests[0]  # base64 of filet:s3cret
    assert b"\r\nuser-agent: filet-test\r\n" in server.head(1) + b"\r\n"
    assert target(server.requests[1]) == b"/items?offset=0&limit=1000"
    assert target(server.requests[2]) == b"/items?status=paid&q=a+b%2F%26"


@pytest.mark.parametrize(
    "first",
    [ok(extra=b"Connection: close\r\n"), b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"],
    ids=["connection-close", "http-1.0"],
)
def test_a_connection_the_answer_does_not_keep_alive_is_not_reused(
    serve: Callable[..., Server], first: bytes
) -> None:
    server = serve(lambda request, number: first if number == 1 else ok())

    async def scenario(http: AsyncHttp) -> list[int]:
        return [(await http.request("GET", f"{server.url}/{path}", timeout=5)).status_code for path in "ab"]

    assert run(scenario) == [200, 200]
    assert server.connections == 2


def test_an_http_1_0_answer_that_asks_for_keep_alive_is_reused(serve: Callable[..., Server]) -> None:
    answer = b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok"
    server = serve(lambda request, number: answer)

    async def scenario(http: AsyncHttp) -> list[str]:
        return [(await http.request("GET", f"{server.url}/{path}", timeout=5)).text for path in "ab"]

    assert run(scenario) == ["ok", "ok"]
    assert server.connections == 1


@pytest.mark.parametrize("loop_saw_it", [True, False], ids=["seen-by-the-loop", "only-in-the-kernel"])
def test_a_kept_alive_connection_dropped_while_idle_is_replaced_before_the_next_request(
    serve: Callable[..., Server], loop_saw_it: bool
) -> None:
    server = serve(lambda request, number: ok())
    server.close_after = {1}

    async def scenario(http: AsyncHttp) -> list[int]:
        first = await http.request("GET", f"{server.url}/a", timeout=5)
        if loop_saw_it:
            assert await asyncio.to_thread(server.closed_quietly.wait, 5)
        else:  # the loop is held: the server's FIN waits in the kernel, unseen by the stream
            assert server.closed_quietly.wait(5)
            time.sleep(0.05)
        second = await http.request("GET", f"{server.url}/b", timeout=5)
        return [first.status_code, second.status_code]

    assert run(scenario) == [200, 200]
    assert server.connections == 2
    assert [target(request) for request in server.requests] == [b"/a", b"/b"]


def test_bytes_nobody_asked_for_on_an_idle_connection_are_never_taken_for_the_next_answer(
    serve: Callable[..., Server],
) -> None:
    timeout_notice = b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n"
    server = serve(
        lambda request, number: ok(b'{"n":%d}' % number) + (timeout_notice if number == 1 else b"")
    )

    async def scenario(http: AsyncHttp) -> list[object]:
        first = await http.request("GET", f"{server.url}/a", timeout=5)
        await asyncio.sleep(0.05)  # the unsolicited answer arrives while the connection is idle
        second = await http.request("GET", f"{server.url}/b", timeout=5)
        return [first.json(), second.status_code, second.json()]

    assert run(scenario) == [{"n": 1}, 200, {"n": 2}]
    assert server.connections == 2


def test_a_connection_dropped_after_the_request_was_written_is_an_error_not_a_retry(
    serve: Callable[..., Server],
) -> None:
    server = serve(lambda request, number: None if number == 2 else ok())

    async def scenario(http: AsyncHttp) -> int:
        assert (await http.request("GET", f"{server.url}/a", timeout=5)).status_code == 200
        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            await http.request("POST", f"{server.url}/transfer", json={"amount": "30000"}, timeout=5)
        return (await http.request("GET", f"{server.url}/c", timeout=5)).status_code

    assert run(scenario) == 200
    assert [target(request) for request in server.requests] == [b"/a", b"/transfer", b"/c"]
    assert server.connections == 2


def test_a_connection_reset_while_reading_is_a_read_error(serve: Callable[..., Server]) -> None:
    server = serve(lambda request, number: ok())
    server.reset_on = {1}

    async def scenario(http: AsyncHttp) -> int:
        with pytest.raises(httpx.ReadError):
            await http.request("POST", f"{server.url}/transfer", json={"a": 1}, timeout=5)
        return (await http.request("GET", f"{server.url}/b", timeout=5)).status_code

    assert run(scenario) == 200
    assert len(server.requests) == 2
    assert server.connections == 2


def test_a_silent_server_is_a_read_timeout_and_its_connection_is_not_reused(
    first_held: tuple[Server, threading.Event],
) -> None:
    server, release = first_held

    async def scenario(http: AsyncHttp) -> tuple[float, object]:
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            await http.request("GET", f"{server.url}/slow", timeout=httpx.Timeout(5.0, read=0.3))
        waited = time.monotonic() - started
        release.set()  # the late answer to /slow must not be read as the next request's
        answer = (await http.request("GET", f"{server.url}/next", timeout=5)).json()
        assert await until(lambda: server.disconnects == 1)  # closed by the client, not left to linger
        return waited, answer

    waited, answer = run(scenario)
    assert 0.25 < waited < 2
    assert answer == {"n": 2}
    assert server.connections == 2


def test_a_closed_port_is_a_connect_error(serve: Callable[..., Server]) -> None:
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()

    async def scenario(http: AsyncHttp) -> None:
        with pytest.raises(httpx.ConnectError):
            await http.request("GET", f"http://127.0.0.1:{port}/", timeout=5)

    run(scenario)


def test_a_request_the_server_does_not_read_is_a_write_timeout() -> None:
    listener = socket.create_server(("127.0.0.1", 0))  # connections wait in the backlog, never read
    port = listener.getsockname()[1]

    async def scenario(http: AsyncHttp) -> None:
        with pytest.raises(httpx.WriteTimeout):
            await http.request(
                "POST",
                f"http://127.0.0.1:{port}/",
                json="x" * 32_000_000,
                timeout=httpx.Timeout(5, write=0.3),
            )

    try:
        run(scenario)
    finally:
        listener.close()


@pytest.mark.parametrize(
    "answer",
    [
        b"<html>Bad Gateway</html>\r\n\r\n",
        b"HTTP/1.1 2OO OK\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\ntoo short",
        b"HTTP/1.1 200 OK\r\nContent-Length: nine\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n",
    ],
    ids=["html", "status", "header", "truncated", "length", "chunk-size", "head-over-64k"],
)
def test_a_broken_answer_is_a_protocol_error(serve: Callable[..., Server], answer: bytes) -> None:
    server = serve(lambda request, number: answer)
    server.close_after = {1}

    async def scenario(http: AsyncHttp) -> None:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.request("GET", f"{server.url}/", timeout=5)

    run(scenario)


def test_a_chunked_answer_is_read_whole_and_its_connection_reused(serve: Callable[..., Server]) -> None:
    chunked = (
        b"HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: ignored\r\n\r\n"
    )
    server = serve(lambda request, number: chunked)

    async def scenario(http: AsyncHttp) -> list[tuple[int, str]]:
        answers = [await http.request("GET", f"{server.url}/{path}", timeout=5) for path in "ab"]
        return [(answer.status_code, answer.text) for answer in answers]

    assert run(scenario) == [(202, "hello world"), (202, "hello world")]
    assert server.connections == 1


def test_an_answer_without_length_is_read_until_the_server_closes(serve: Callable[..., Server]) -> None:
    server = serve(lambda request, number: b"HTTP/1.1 200 OK\r\n\r\nuntil the end" if number == 1 else ok())
    server.close_after = {1}

    async def scenario(http: AsyncHttp) -> list[bytes]:
        return [(await http.request("GET", f"{server.url}/{path}", timeout=5)).content for path in "ab"]

    assert run(scenario) == [b"until the end", b'{"ok":true}']
    assert server.connections == 2


def test_a_204_without_body_keeps_its_connection_for_the_next_request(serve: Callable[..., Server]) -> None:
    server = serve(lambda request, number: b"HTTP/1.1 204 No Content\r\n\r\n" if number == 1 else ok())

    async def scenario(http: AsyncHttp) -> list[tuple[int, bytes]]:
        answers = [await http.request("DELETE", f"{server.url}/{path}", timeout=5) for path in "ab"]
        return [(answer.status_code, answer.content) for answer in answers]

    assert run(scenario) == [(204, b""), (200, b'{"ok":true}')]
    assert server.connections == 1


def test_interim_answers_are_skipped(serve: Callable[..., Server]) -> None:
    server = serve(
        lambda request, number: b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n\r\n" + ok()
    )

    async def scenario(http: AsyncHttp) -> tuple[int, object]:
        answer = await http.request("POST", f"{server.url}/", json={}, timeout=5)
        return answer.status_code, answer.json()

    assert run(scenario) == (200, {"ok": True})


def test_a_cancelled_request_closes_its_connection(first_held: tuple[Server, threading.Event]) -> None:
    server, release = first_held

    async def scenario(http: AsyncHttp) -> object:
        slow = asyncio.create_task(http.request("GET", f"{server.url}/slow", timeout=5))
        while not server.requests:
            await asyncio.sleep(0.01)
        slow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await slow
        release.set()
        answer = (await http.request("GET", f"{server.url}/next", timeout=5)).json()
        assert await until(lambda: server.disconnects == 1)  # closed by the client, not left to linger
        return answer

    assert run(scenario) == {"n": 2}
    assert server.connections == 2


def test_many_requests_in_flight_open_no_more_connections_than_the_caller_allows(
    serve: Callable[..., Server],
) -> None:
    server = serve(lambda request, number: ok(b'{"path":"%s"}' % target(request)[1:]))
    width = 8

    async def scenario(http: AsyncHttp) -> list[object]:
        gate = asyncio.Semaphore(width)

        async def one(index: int) -> object:
            async with gate:
                return (await http.request("GET", f"{server.url}/{index}", timeout=5)).json()

        return list(await asyncio.gather(*(one(index) for index in range(200))))

    assert run(scenario) == [{"path": str(index)} for index in range(200)]
    assert len(server.requests) == 200
    assert 2 <= server.connections <= width  # in flight together, and each connection reused


def test_aclose_closes_the_idle_connections(serve: Callable[..., Server]) -> None:
    server = serve(lambda request, number: ok())

    async def scenario(http: AsyncHttp) -> None:
        await asyncio.gather(*(http.request("GET", f"{server.url}/{index}", timeout=5) for index in range(3)))
        assert server.disconnects == 0
        started = time.monotonic()
        await http.aclose()
        assert time.monotonic() - started < 0.5  # closed at once, not dropped after a grace period
        assert await until(lambda: server.disconnects == 3)

    run(scenario)
    assert (server.connections, server.disconnects) == (3, 3)


def test_a_header_that_would_split_the_request_is_refused_before_anything_is_sent(
    serve: Callable[..., Server],
) -> None:
    server = serve(lambda request, number: ok())

    async def scenario(http: AsyncHttp) -> None:
        with pytest.raises(httpx.LocalProtocolError):
            await http.request("GET", f"{server.url}/", headers={"X-A": "1\r\nX-Injected: 1"}, timeout=5)

    run(scenario)
    assert server.connections == 0


def test_https_with_the_given_tls_context(serve: Callable[..., Server], tmp_path: Path) -> None:
    # The certificate is made with the openssl command (on this machine and in CI): without it, this fails.
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *(
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=127.0.0.1",
            ),
            *("-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    server = serve(lambda request, number: ok(b'{"n":%d}' % number), tls=server_tls)

    async def scenario(http: AsyncHttp) -> list[object]:
        return [(await http.request("GET", f"{server.url}/{path}", timeout=5)).json() for path in "ab"]

    assert run(scenario, AsyncHttp(tls=ssl.create_default_context(cafile=cert))) == [{"n": 1}, {"n": 2}]
    assert server.connections == 1

    async def untrusted(http: AsyncHttp) -> None:
        with pytest.raises(httpx.ConnectError):
            await http.request("GET", f"{server.url}/c", timeout=5)

    run(untrusted)  # the default context does not trust a self-signed certificate


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("ftp://127.0.0.1/", httpx.UnsupportedProtocol),
        ("http:///no-host", httpx.InvalidURL),
        ("http://127.0.0.1:99999/", httpx.InvalidURL),
        ("http://[::1/", httpx.InvalidURL),
    ],
)
def test_a_url_that_cannot_be_requested_is_refused_as_httpx_would(url: str, error: type[Exception]) -> None:
    async def scenario(http: AsyncHttp) -> None:
        with pytest.raises(error):
            await http.request("GET", url, timeout=5)

    run(scenario)
