"""The journey asks a read again when the server closed the kept-alive connection it reused; never a write."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import httpx
import pytest

from filet.journey import Journey

ANSWER = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 12\r\n"
    b'connection: close\r\n\r\n{"ok": true}'
)


@pytest.fixture
def server() -> Iterator[tuple[str, list[bytes]]]:
    """Reads each request; hangs up on the first without a word (an idle connection closed as it was reused),
    answers the others. Yields its URL and the request lines it received."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    received: list[bytes] = []
    done = threading.Event()

    def serve() -> None:
        n = 0
        while not done.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            with connection:
                request = connection.recv(65536)
                received.append(request.split(b"\r\n", 1)[0])
                if n > 0:
                    connection.sendall(ANSWER)
                n += 1

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}", received
    done.set()
    thread.join(timeout=5)
    listener.close()


def journey(url: str) -> Journey:
    return Journey({"payments": url}, {"auditor": "t", "operator": "t"}, client=httpx.Client(timeout=5))


def test_a_read_whose_connection_was_closed_is_asked_again(server: tuple[str, list[bytes]]) -> None:
    url, received = server

    answer = journey(url).call("GET", "payments", "/v1/cycles/c/progress", as_="auditor")

    assert answer == {"ok": True}
    assert received == [b"GET /v1/cycles/c/progress HTTP/1.1"] * 2


def test_a_write_whose_connection_was_closed_is_not_sent_again(server: tuple[str, list[bytes]]) -> None:
    url, received = server

    with pytest.raises(httpx.RemoteProtocolError):
        journey(url).call("POST", "payments", "/v1/cycles", json={})

    assert received == [b"POST /v1/cycles HTTP/1.1"]
