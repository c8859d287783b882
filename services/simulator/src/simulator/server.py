"""Serving: a uvicorn server whose listening sockets can close and reopen, and a background-thread runner."""

from __future__ import annotations

import asyncio
import functools
import logging
import socket
import threading
import time
from types import TracebackType
from typing import Self

import uvicorn
from starlette.types import ASGIApp

from simulator.app import create_app, simulation_of
from simulator.config import SimulatorConfig
from simulator.doorway import Doorway


class _IntendedDrops(logging.Filter):
    """Hides uvicorn's complaint about answers cut short: the simulator cuts them on purpose (timeouts)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("ASGI callable returned without completing response")


class SimulatorServer(uvicorn.Server):
    """uvicorn, plus `close_listeners` / `reopen_listeners` so that 'down' can mean connection refused."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        host: str = "127.0.0.1",
        port: int = 8009,
        doorway: Doorway | None = None,
        log_level: str = "warning",
    ) -> None:
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level=log_level,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=1,
            backlog=4096,
        )
        super().__init__(config)
        errors = logging.getLogger("uvicorn.error")
        if not any(isinstance(existing, _IntendedDrops) for existing in errors.filters):
            errors.addFilter(_IntendedDrops())
        self.ready = threading.Event()
        self.address: tuple[str, int] = (host, port)
        self._doorway = doorway

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.servers and self.servers[0].sockets:
            host, port = self.servers[0].sockets[0].getsockname()[:2]
            self.address = (host, port)
        if self._doorway is not None:
            await self._doorway.attach(self)
        self.ready.set()

    async def close_listeners(self) -> None:
        for server in self.servers:
            server.close()

    async def reopen_listeners(self) -> None:
        """Listens again on the same address, with the protocol factory uvicorn itself uses."""
        protocol = functools.partial(
            self.config.http_protocol_class,  # type: ignore[call-arg]  # uvicorn's own call, in startup()
            config=self.config,
            server_state=self.server_state,
            app_state=self.lifespan.state,
        )
        host, port = self.address
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            protocol, host=host, port=port, backlog=self.config.backlog, reuse_address=True
        )
        self.servers = [server]


class BackgroundServer:
    """Runs an ASGI app on a loopback port (0: any free one) in a daemon thread; for tests and benchmarks.

    `with BackgroundServer(app) as server:` returns once the server accepts connections (or raises after
    `startup_timeout`); `server.base_url` is where it listens.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        doorway: Doorway | None = None,
        startup_timeout: float = 10.0,
    ) -> None:
        self._server = SimulatorServer(app, host=host, port=port, doorway=doorway)
        self._thread = threading.Thread(target=self._server.run, name=f"uvicorn-{host}:{port}", daemon=True)
        self._startup_timeout = startup_timeout

    @classmethod
    def simulator(cls, config: SimulatorConfig | None = None, *, port: int = 0) -> BackgroundServer:
        """A simulator made by `create_app(config)`, able to refuse connections when 'down'."""
        app = create_app(config)
        return cls(app, port=port, doorway=simulation_of(app).doorway)

    @property
    def base_url(self) -> str:
        host, port = self._server.address
        return f"http://{host}:{port}"

    @property
    def port(self) -> int:
        return self._server.address[1]

    def __enter__(self) -> Self:
        self._thread.start()
        deadline = time.monotonic() + self._startup_timeout
        while not self._server.ready.wait(timeout=0.05):
            if not self._thread.is_alive():
                raise RuntimeError("the server thread stopped before it was ready")
            if time.monotonic() > deadline:
                self._server.should_exit = True
                raise TimeoutError(f"the server was not ready within {self._startup_timeout} s")
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
