"""The per-payment routes as plain ASGI, ahead of FastAPI's routing: the busiest routes of the simulator.

Every payment brings a creation request and one or more status reads. Through FastAPI's middleware layers,
its routing across the included routers, `request_response` and dependency solving, the framework cost
more CPU than the desks' own work — CPU the simulator takes from the system under test in a benchmark.
Here a request is matched against the table below and handed to the desk's handler directly, with a
Starlette `Request`; the `Response` it returns is sent as it is. Anything not in the table (other methods,
other paths, admin, batches, tokens, the OpenAPI document) goes on to the FastAPI app, which answers it as
before (405 with `Allow`, JSON 404, trailing-slash redirects, ...).

| method | path                                               | handler                       |
|--------|----------------------------------------------------|-------------------------------|
| POST   | /mtn/disbursement/v1_0/transfer                    | `MtnDesk.post_transfer`       |
| GET    | /mtn/disbursement/v1_0/transfer/{reference_id}     | `MtnDesk.get_transfer`        |
| POST   | /wave/v1/payout                                    | `WaveDesk.post_payout`        |
| GET    | /wave/v1/payout/{payout_id}                        | `WaveDesk.get_payout`         |
| POST   | /gsma/transactions/type/disbursement               | `GsmaDesk.post_disbursement`  |
| GET    | /gsma/transactions/{transaction_reference}         | `GsmaDesk.get_transaction`    |
| GET    | /gsma/requeststates/{server_correlation_id}        | `GsmaDesk.get_request_state`  |
| GET    | /gsma/responses/{client_correlation_id}            | `GsmaDesk.get_response`       |

The paths are the desks' own (their `router()`), compiled as Starlette compiles them, so a path matches here
exactly when it matches there. A handler that raises is answered by Starlette's `ServerErrorMiddleware`, as
in the FastAPI app: a plain-text 500, and the exception goes on to the server, which logs it.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import FastAPI
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import compile_path
from starlette.types import Receive, Scope, Send

from simulator.dialects.gsma import GsmaDesk
from simulator.dialects.mtn import MtnDesk
from simulator.dialects.wave import WaveDesk

Handler = Callable[..., Awaitable[Response]]


class PaymentRoute:
    """One row of the table. The handler is called as FastAPI calls it: path parameters by name, and the
    `Request` as `request` if it asks for one."""

    def __init__(self, method: str, path: str, handler: Handler) -> None:
        self.method, self.path, self.handler = method, path, handler
        self.pattern, _, self.convertors = compile_path(path)
        parameters = set(inspect.signature(handler).parameters)
        if not parameters <= {"request", *self.convertors}:
            raise TypeError(f"{path}: a handler here takes only `request` and the path's parameters")
        self.wants_request = "request" in parameters

    def match(self, path: str) -> dict[str, Any] | None:
        """The path parameters, converted, if `path` is this route's."""
        matched = self.pattern.match(path)
        if matched is None:
            return None
        return {name: self.convertors[name].convert(value) for name, value in matched.groupdict().items()}

    async def answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        params = scope["path_params"]
        if self.wants_request:
            response = await self.handler(request=Request(scope, receive, send), **params)
        else:
            response = await self.handler(**params)
        await response(scope, receive, send)


def payment_routes(gsma: GsmaDesk, mtn: MtnDesk, wave: WaveDesk) -> tuple[PaymentRoute, ...]:
    """The table of the module's docstring."""
    return (
        PaymentRoute("POST", "/mtn/disbursement/v1_0/transfer", mtn.post_transfer),
        PaymentRoute("GET", "/mtn/disbursement/v1_0/transfer/{reference_id}", mtn.get_transfer),
        PaymentRoute("POST", "/wave/v1/payout", wave.post_payout),
        PaymentRoute("GET", "/wave/v1/payout/{payout_id}", wave.get_payout),
        PaymentRoute("POST", "/gsma/transactions/type/disbursement", gsma.post_disbursement),
        PaymentRoute("GET", "/gsma/transactions/{transaction_reference}", gsma.get_transaction),
        PaymentRoute("GET", "/gsma/requeststates/{server_correlation_id}", gsma.get_request_state),
        PaymentRoute("GET", "/gsma/responses/{client_correlation_id}", gsma.get_response),
    )


class PaymentRoutes:
    """The simulator's ASGI app: serves the per-payment routes itself and passes everything else to `api`."""

    def __init__(self, api: FastAPI, *, routes: Sequence[PaymentRoute]) -> None:
        self.api = api
        self._by_method: dict[str, tuple[PaymentRoute, ...]] = {}
        for route in routes:
            self._by_method[route.method] = (*self._by_method.get(route.method, ()), route)
        self._matched = ServerErrorMiddleware(_answer_matched, debug=api.debug)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            for route in self._by_method.get(scope["method"], ()):
                params = route.match(path)
                if params is not None:
                    scope["route"], scope["path_params"] = route, params
                    await self._matched(scope, receive, send)
                    return
        await self.api(scope, receive, send)


async def _answer_matched(scope: Scope, receive: Receive, send: Send) -> None:
    route: PaymentRoute = scope["route"]
    await route.answer(scope, receive, send)
