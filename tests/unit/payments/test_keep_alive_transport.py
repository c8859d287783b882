"""The dispatcher's httpx transport against a real socket server on loopback: keep-alive, stale connections,
timeouts and broken answers surface as httpx's own errors, and several threads never share a connection."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from payments.providers.transport import DirectHttp, Http, KeepAliveTransport

#: What the server does with one request on a connection: the bytes to answer, or None to close silently.
Reply = Callable[[bytes, int], bytes | None]


class LoopbackServer:
    """A minimal HTTP/1.1 server in threads; counts connections and requests, answers as `reply` says."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.connections = 0
        self.requests: list[bytes] = []
        #: Request numbers after whose answer the server closes the connection without saying so.
        self.close_after: set[int] = set()
        self.closed_quietly = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        buffer = b""
        with connection:
            while True:
                while b"\r\n\r\n" not in buffer:
                    chunk = connection.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                head, buffer = buffer.split(b"\r\n\r\n", 1)
                length = next(
                    (
                        int(line.split(b":", 1)[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                while len(buffer) < length:
                    buffer += connection.recv(65536)
                body, buffer = buffer[:length], buffer[length:]
                with self._lock:
                    self.requests.append(head + b"\r\n\r\n" + body)
                    number = len(self.requests)
                answer = self.reply(head + b"\r\n\r\n" + body, number)
                if answer is None:
                    return
                connection.sendall(answer)
                if number in self.close_after:
                    connection.shutdown(socket.SHUT_RDWR)
                    self.closed_quietly.set()
                    return

    def close(self) -> None:
        self._listener.close()


def ok(body: bytes = b'{"ok":true}', *, close: bool = False) -> bytes:
    extra = b"Connection: close\r\n" if close else b""
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        + extra
        + b"Content-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )


@pytest.fixture
def serve() -> Iterator[Callable[[Reply], LoopbackServer]]:
    servers: list[LoopbackServer] = []

    def start(reply: Reply) -> LoopbackServer:
        server = LoopbackServer(reply)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def client(timeout: float = 5.0) -> httpx.Client:
    return httpx.Client(transport=KeepAliveTransport(), timeout=timeout, trust_env=False)


def test_requests_reuse_one_connection_and_carry_method_path_headers_and_body(
    serve: Callable[[Reply], LoopbackServer],
) -> None:
    server = serve(lambda request, number: ok(b'{"n":%d}' % number))
    with client() as http:
        first = http.post(
            f"{server.url}/transfer?x=1", json={"amount": "30000"}, headers={"X-Reference-Id": "k1"}
        )
        second = http.get(f"{server.url}/transfer/k1")
    assert (first.status_code, first.json(), second.json()) == (200, {"n": 1}, {"n": 2})
    assert server.connections == 1
    head, body = server.requests[0].split(b"\r\n\r\n", 1)
    assert head.startswith(b"POST /transfer?x=1 HTTP/1.1\r\n")
    assert b"\r\nX-Reference-Id: k1" in head.replace(b"x-reference-id", b"X-Reference-Id")
    assert body == b'{"amount":"30000"}'
    assert head.lower().count(b"\r\nhost:") == 1


def test_a_connection_the_server_closed_is_not_reused(serve: Callable[[Reply], LoopbackServer]) -> None:
    server = serve(lambda request, number: ok(close=number == 1))
    with client() as http:
        assert http.get(f"{server.url}/a").status_code == 200
        assert http.get(f"{server.url}/b").status_code == 200
    assert server.connections == 2


def test_a_kept_alive_connection_dropped_while_idle_is_replaced_before_the_next_request(
    serve: Callable[[Reply], LoopbackServer],
) -> None:
    server = serve(lambda request, number: ok())
    server.close_after = {1}
    with client() as http:
        assert http.get(f"{server.url}/a").status_code == 200
        assert server.closed_quietly.wait(5)
        assert http.get(f"{server.url}/b").status_code == 200
    assert server.connections == 2
    assert len(server.requests) == 2


def test_a_connection_dropped_after_the_request_was_written_is_an_error_not_a_retry(
    serve: Callable[[Reply], LoopbackServer],
) -> None:
    server = serve(lambda request, number: None if number == 2 else ok())
    with client() as http:
        assert http.get(f"{server.url}/a").status_code == 200
        with pytest.raises(httpx.RemoteProtocolError):
            http.post(f"{server.url}/transfer", json={"amount": "30000"})
        assert http.get(f"{server.url}/c").status_code == 200
    assert [request.split(b" ", 2)[1] for request in server.requests] == [b"/a", b"/transfer", b"/c"]


def test_a_silent_server_is_a_read_timeout_and_a_closed_port_a_connect_error(
    serve: Callable[[Reply], LoopbackServer],
) -> None:
    hang = threading.Event()

    def reply(request: bytes, number: int) -> bytes | None:
        hang.wait(5)
        return ok()

    server = serve(reply)
    with client(timeout=0.3) as http, pytest.raises(httpx.ReadTimeout):
        http.get(f"{server.url}/slow")
    hang.set()
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    with client() as http, pytest.raises(httpx.ConnectError):
        http.get(f"http://127.0.0.1:{port}/")


def test_garbage_instead_of_http_is_a_protocol_error(serve: Callable[[Reply], LoopbackServer]) -> None:
    server = serve(lambda request, number: b"<html>Bad Gateway</html>\r\n\r\n")
    with client() as http, pytest.raises(httpx.RemoteProtocolError):
        http.get(f"{server.url}/")


def test_a_chunked_answer_is_read_whole(serve: Callable[[Reply], LoopbackServer]) -> None:
    chunked = (
        b"HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    )
    server = serve(lambda request, number: chunked)
    with client() as http:
        response = http.get(f"{server.url}/")
        again = http.get(f"{server.url}/")
    assert (response.status_code, response.text, again.text) == (202, "hello world", "hello world")
    assert server.connections == 1


def test_threads_each_keep_their_own_connection(serve: Callable[[Reply], LoopbackServer]) -> None:
    server = serve(lambda request, number: ok())
    with client() as http, ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(pool.map(lambda index: http.get(f"{server.url}/{index}").status_code, range(200)))
    assert statuses == [200] * 200
    assert len(server.requests) == 200
    assert 1 <= server.connections <= 4


def test_direct_http_sends_what_the_adapters_ask_straight_to_the_transport(
    serve: Callable[[Reply], LoopbackServer],
) -> None:
    server = serve(lambda request, number: ok(b'{"n":%d}' % number))
    http = DirectHttp(KeepAliveTransport(), user_agent="filet-test")
    timeout = httpx.Timeout(5.0)
    try:
        posted = http.post(
            f"{server.url}/token/",
            auth=("filet", "s3cret"),
            json={"a": 1},
            headers={"X-K": "v"},
            timeout=timeout,
        )
        got = http.get(f"{server.url}/items", params={"offset": 0, "limit": 1000}, timeout=timeout)
        asked = http.request("PUT", f"{server.url}/x", headers={"X-K": "w"}, timeout=timeout)
    finally:
        http.close()
    assert [response.json() for response in (posted, got, asked)] == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert posted.request.method == "POST"
    assert str(posted.request.url) == f"{server.url}/token/"
    post_head, post_body = server.requests[0].split(b"\r\n\r\n", 1)
    headers = post_head.lower()
    assert post_head.startswith(b"POST /token/ HTTP/1.1\r\n")
    assert b"\r\nAuthorization: Basic ZmlsZXQ6czNjcmV0\r\n" in post_head  # base64 of filet:s3cret
    assert b"\r\nx-k: v" in headers
    assert b"\r\nuser-agent: filet-test" in headers
    assert b"\r\ncontent-type: application/json" in headers
    assert post_body == b'{"a":1}'
    assert server.requests[1].startswith(b"GET /items?offset=0&limit=1000 HTTP/1.1\r\n")
    assert server.requests[2].startswith(b"PUT /x HTTP/1.1\r\n")
    assert server.connections == 1


def test_direct_http_applies_the_request_timeout_and_raises_httpx_errors(
    serve: Callable[[Reply], LoopbackServer],
) -> None:
    hang = threading.Event()

    def reply(request: bytes, number: int) -> bytes | None:
        hang.wait(5)
        return ok()

    server = serve(reply)
    http = DirectHttp(KeepAliveTransport())
    try:
        with pytest.raises(httpx.ReadTimeout):
            http.get(f"{server.url}/slow", timeout=httpx.Timeout(0.3))
    finally:
        hang.set()
        http.close()


def test_an_httpx_client_is_accepted_where_the_adapters_take_direct_http(
    serve: Callable[[Reply], LoopbackServer],
) -> None:
    server = serve(lambda request, number: ok())
    adapters_http: list[Http] = [client(), DirectHttp(KeepAliveTransport())]
    for http in adapters_http:
        assert http.get(f"{server.url}/a", timeout=httpx.Timeout(5.0)).json() == {"ok": True}
