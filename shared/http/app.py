"""The app factory every service calls: errors, request ids, metrics, health and readiness routes."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from sqlalchemy import Engine, text
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import logs
from shared.auth import TokenStore
from shared.http.errors import error_response, install_error_handlers
from shared.settings import Settings


class Metrics:
    """Per-app Prometheus registry (an app per test must not collide with another's metrics)."""

    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests_total",
            "HTTP requests",
            ["service", "method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "http_request_seconds",
            "HTTP request latency",
            ["service", "method", "route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.service = service


class Observe:
    """Pure ASGI middleware (no per-request task or body buffering): a request id in the logs and in the
    answer, Prometheus counts and latency per route template, and 413 for a declared body over the limit."""

    def __init__(self, app: ASGIApp, *, service: str, metrics: Metrics, max_body_bytes: int) -> None:
        self.app = app
        self.service = service
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        rid = (headers.get(b"x-request-id") or uuid.uuid4().hex.encode()).decode("latin-1")
        token = logs.request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode("latin-1"))]
            await send(message)

        try:
            length = headers.get(b"content-length", b"")
            if length.isdigit() and int(length) > self.max_body_bytes:
                response = error_response(
                    413,
                    "payload_too_large",
                    f"the body is larger than the limit of {self.max_body_bytes} bytes",
                )
                await response(scope, receive, answer)
            else:
                await self.app(scope, receive, answer)
        finally:
            logs.request_id.reset(token)
            template = getattr(scope.get("route"), "path", "unmatched")
            method = scope["method"]
            self.metrics.requests.labels(self.service, method, template, str(status)).inc()
            self.metrics.latency.labels(self.service, method, template).observe(time.perf_counter() - started)


def broker_reachable(bootstrap: str, timeout: float = 1.0) -> bool:
    """A TCP connection to any bootstrap server (cheap enough for every /readyz)."""
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout):
                return True
        except (OSError, ValueError):
            continue
    return False


def build_app(
    *,
    service: str,
    settings: Settings,
    engine: Engine,
    routers: Sequence[APIRouter],
    description: str,
    middleware: Sequence[Middleware] = (),
) -> FastAPI:
    """The service's FastAPI app: error handlers, health, metrics, its routers; `middleware` runs inside the
    observing middleware (request ids, metrics and the body limit apply to it too), outermost first."""
    app = FastAPI(title=f"filet {service}", version="1", description=description)
    app.state.settings = settings
    app.state.engine = engine
    app.state.tokens = TokenStore(engine)
    metrics = Metrics(service)
    app.state.metrics = metrics
    install_error_handlers(app)

    for layer in reversed(middleware):
        app.add_middleware(layer.cls, *layer.args, **layer.kwargs)
    app.add_middleware(Observe, service=service, metrics=metrics, max_body_bytes=settings.max_body_bytes)

    health = APIRouter(tags=["health"])

    @health.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @health.get("/readyz")
    def readyz() -> JSONResponse:
        checks: dict[str, Any] = {}
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as error:
            checks["database"] = f"unreachable: {type(error).__name__}"
        bootstrap = settings.kafka_bootstrap_servers
        checks["broker"] = "ok" if bootstrap and broker_reachable(bootstrap) else "unreachable"
        ready = all(value == "ok" for value in checks.values())
        return JSONResponse(status_code=200 if ready else 503, content={"ready": ready, "checks": checks})

    @health.get("/metrics")
    def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    app.include_router(health)
    for router in routers:
        app.include_router(router)
    return app
