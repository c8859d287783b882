"""A callback receiver: records every PUT/POST it gets, for tests, demos and benchmarks of the simulator."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


@dataclass(frozen=True, slots=True)
class ReceivedCallback:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


class CallbackReceiver:
    """Answers 204 to PUT and 200 to POST (or 500 while `refuse` is set), and can wait for what arrives.

    Thread-safe: the app runs on a server thread while a test waits on another.
    """

    def __init__(self) -> None:
        self._received: list[ReceivedCallback] = []
        self._changed = threading.Condition()
        self._refusals = 0
        self.app = Starlette(routes=[Route("/{path:path}", self._receive, methods=["PUT", "POST"])])

    def refuse(self, times: int) -> None:
        """Answers the next `times` callbacks with 500 (they are not recorded), to exercise retries."""
        with self._changed:
            self._refusals = times

    def received(self, path_prefix: str = "/") -> list[ReceivedCallback]:
        with self._changed:
            return [callback for callback in self._received if callback.path.startswith(path_prefix)]

    def clear(self) -> None:
        with self._changed:
            self._received.clear()
            self._refusals = 0

    def wait_for(
        self,
        condition: Callable[[list[ReceivedCallback]], bool],
        *,
        path_prefix: str = "/",
        timeout: float = 5.0,
    ) -> list[ReceivedCallback]:
        """Blocks until `condition(callbacks under path_prefix)` holds; raises TimeoutError after `timeout`."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                matching = [c for c in self._received if c.path.startswith(path_prefix)]
                if condition(matching):
                    return matching
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"condition not met within {timeout} s; received {len(matching)} callbacks"
                    )
                self._changed.wait(remaining)

    async def _receive(self, request: Request) -> Response:
        body = await request.body()
        with self._changed:
            if self._refusals > 0:
                self._refusals -= 1
                return Response(status_code=500)
            headers = {key.lower(): value for key, value in request.headers.items()}
            self._received.append(ReceivedCallback(request.method, request.url.path, headers, body))
            self._changed.notify_all()
        return Response(status_code=204 if request.method == "PUT" else 200)
