"""The app factory every service calls: errors, request ids, metrics, health and readiness routes."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from sqlalchemy import Engine, text

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
) -> FastAPI:
    app = FastAPI(title=f"filet {service}", version="1", description=description)
    app.state.settings = settings
    app.state.engine = engine
    app.state.tokens = TokenStore(engine)
    metrics = Metrics(service)
    app.state.metrics = metrics
    install_error_handlers(app)

    @app.middleware("http")
    async def observe(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        rid = request.headers.get("x-request-id") or uuid.uuid4().hex
        token = logs.request_id.set(rid)
        started = time.perf_counter()
        try:
            length = request.headers.get("content-length")
            if length is not None and length.isdigit() and int(length) > settings.max_body_bytes:
                response: Response = error_response(
                    413,
                    "payload_too_large",
                    f"the body is larger than the limit of {settings.max_body_bytes} bytes",
                )
            else:
                response = await call_next(request)
        finally:
            logs.request_id.reset(token)
        route = request.scope.get("route")
        template = getattr(route, "path", "unmatched")
        metrics.requests.labels(service, request.method, template, str(response.status_code)).inc()
        metrics.latency.labels(service, request.method, template).observe(time.perf_counter() - started)
        response.headers["X-Request-ID"] = rid
        return response

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
