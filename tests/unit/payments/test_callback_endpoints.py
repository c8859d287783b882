"""The plain-ASGI callback receiver: which requests it serves, and its refusals (too large, inbox unreachable)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

from fastapi import FastAPI
from fastapi.testclient import TestClient

from payments.api.callbacks import CallbackEndpoints
from payments.db.inbox import CallbackInbox


def closed_port() -> int:
    listener = socket.create_server(("127.0.0.1", 0))
    port = int(listener.getsockname()[1])
    listener.close()
    return port


def receiver(max_body_bytes: int = 4096) -> TestClient:
    inner = FastAPI()

    @inner.api_route("/{path:path}", methods=["GET", "PUT", "POST"])
    def elsewhere(path: str) -> dict[str, str]:
        return {"served_by": "the app", "path": path}

    inbox = CallbackInbox(f"postgresql://filet@127.0.0.1:{closed_port()}/filet?connect_timeout=2", size=1)
    inner.add_middleware(CallbackEndpoints, inbox=inbox, wave_secrets=["s"], max_body_bytes=max_body_bytes)
    return TestClient(inner)


def test_only_the_callback_table_is_served_here_the_rest_goes_on_to_the_app() -> None:
    client = receiver()
    passed_on = {
        ("POST", "/v1/callbacks/paypal"),
        ("GET", "/v1/callbacks/unmatched"),
        ("POST", "/v1/callbacks/mtn/a/b"),
        ("POST", "/v1/cycles"),
    }
    for method, path in passed_on:
        answer = client.request(method, path, content=b"{}")
        assert answer.json()["served_by"] == "the app", (method, path)


def test_a_callback_path_asked_with_another_method_is_a_json_405() -> None:
    client = receiver()
    for method, path in [
        ("GET", "/v1/callbacks/wave"),
        ("DELETE", "/v1/callbacks/mtn/7f0c7b1e"),
        ("POST", "/v1/callbacks/gsma/batches/k"),  # batch callbacks are PUT
    ]:
        answer = client.request(method, path)
        assert answer.status_code == 405, (method, path)
        assert answer.json()["error"]["code"] == "method_not_allowed"


def test_a_body_over_the_limit_is_refused_even_without_a_declared_length() -> None:
    client = receiver(max_body_bytes=4096)

    def chunks() -> Iterator[bytes]:
        for _ in range(3):
            yield b"x" * 2048

    answer = client.put("/v1/callbacks/mtn/7f0c7b1e", content=chunks())
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "payload_too_large"


def test_a_callback_that_cannot_be_kept_is_answered_503_so_the_provider_sends_it_again() -> None:
    client = receiver()
    for method, path in [
        ("PUT", "/v1/callbacks/mtn/7f0c7b1e"),
        ("PUT", "/v1/callbacks/gsma/batches/4a6f"),
        ("POST", "/v1/callbacks/gsma/4a6f"),
        ("POST", "/v1/callbacks/mtn"),
    ]:
        answer = client.request(method, path, content=b'{"status":"SUCCESSFUL"}')
        assert answer.status_code == 503, (method, path)
        assert answer.json()["error"]["code"] == "unavailable"
