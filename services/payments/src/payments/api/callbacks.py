"""Provider callbacks as plain ASGI, ahead of FastAPI's routing: the busiest and simplest routes of the service.

Every payment brings one or more callbacks; each is checked (Wave's signature, GSMA's correlation id), kept
durably in the inbox and acknowledged — nothing else (`use_cases.receive_callback`). Through FastAPI's
middleware layers, routing and dependency solving, the framework cost more than the work; here a request
is matched against the table below and answered directly. Anything not in the table (other methods, other
paths, unknown providers) goes on to the FastAPI app, which answers it as before (405, JSON 404, ...).

| method     | path                                     | provider | key in the path            |
|------------|------------------------------------------|----------|----------------------------|
| POST       | /v1/callbacks/wave                       | wave     | (signed; none)             |
| PUT, POST  | /v1/callbacks/mtn/{reference_id}         | mtn      | the transfer's X-Reference-Id |
| PUT        | /v1/callbacks/gsma/batches/{batch_key}   | gsma     | the batch's X-CorrelationID |
| PUT, POST  | /v1/callbacks/gsma/{key}                 | gsma     | the request's X-CorrelationID |
| PUT, POST  | /v1/callbacks/{gsma,mtn,wave}            | that one | none (matched by the body's reference) |
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from payments.db.inbox import CallbackInbox
from payments.use_cases.receive_callback import InboundCallback, receive_callback
from shared.http.errors import error_response

log = logging.getLogger(__name__)

PROVIDERS = frozenset({"gsma", "mtn", "wave"})


@dataclass(frozen=True)
class CallbackRoute:
    """One row of the table; `path` is the template the metrics are labelled with."""

    path: str
    methods: frozenset[str]
    provider: str | None  # None: the provider is the last segment of the path
    batch: bool = False

    @property
    def pattern(self) -> re.Pattern[str]:
        return re.compile("^" + re.sub(r"\{[a-z_]+\}", "([^/]+)", self.path) + "$")


ROUTES: tuple[CallbackRoute, ...] = (
    CallbackRoute("/v1/callbacks/wave", frozenset({"POST"}), "wave"),
    CallbackRoute("/v1/callbacks/mtn/{reference_id}", frozenset({"PUT", "POST"}), "mtn"),
    CallbackRoute("/v1/callbacks/gsma/batches/{batch_key}", frozenset({"PUT"}), "gsma", batch=True),
    CallbackRoute("/v1/callbacks/gsma/{key}", frozenset({"PUT", "POST"}), "gsma"),
    CallbackRoute("/v1/callbacks/{provider}", frozenset({"PUT", "POST"}), None),
)


class CallbackEndpoints:
    """ASGI middleware that serves the callback routes itself and passes everything else on."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        inbox: CallbackInbox,
        wave_secrets: Sequence[str],
        max_body_bytes: int,
    ) -> None:
        self.app = app
        self.inbox = inbox
        self.wave_secrets = list(wave_secrets)
        self.max_body_bytes = max_body_bytes
        self._table = [(route, route.pattern) for route in ROUTES]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/v1/callbacks/"):
            found = self._match(scope["method"], scope["path"])
            if found == "other method":
                allowed = "a callback route takes PUT or POST (Wave: POST)"
                await error_response(405, "method_not_allowed", allowed)(scope, receive, send)
                return
            if isinstance(found, tuple):
                route, provider, key = found
                scope["route"] = route  # the template, for the request metrics
                await self._receive(scope, receive, send, route, provider, key)
                return
        await self.app(scope, receive, send)

    def _match(self, method: str, path: str) -> tuple[CallbackRoute, str, str | None] | str | None:
        """The route, provider and path key; "other method" for a callback path asked with another method."""
        path_known = False
        for route, pattern in self._table:
            matched = pattern.match(path)
            if matched is None:
                continue
            provider = route.provider or matched.group(1)
            if provider not in PROVIDERS:
                continue
            path_known = True
            if method in route.methods:
                key = matched.group(1) if route.provider is not None and matched.groups() else None
                return route, provider, key
        return "other method" if path_known else None

    async def _receive(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        route: CallbackRoute,
        provider: str,
        key: str | None,
    ) -> None:
        body = await _body(receive, self.max_body_bytes)
        if body is None:
            limit = self.max_body_bytes
            response = error_response(
                413, "payload_too_large", f"the body is larger than the limit of {limit} bytes"
            )
            await response(scope, receive, send)
            return
        inbound = InboundCallback(
            provider=provider,
            method=scope["method"],
            path=scope["path"],
            headers={name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]},
            body=body,
            received_at=datetime.now(UTC),
            key=key,
            batch=route.batch,
        )
        try:
            status = await receive_callback(self.inbox, inbound, wave_secrets=self.wave_secrets)
        except Exception:
            log.exception("a callback could not be kept", extra={"provider": provider})
            response = error_response(
                503, "unavailable", "the callback could not be stored; send it again later"
            )
            await response(scope, receive, send)
            return
        await send({"type": "http.response.start", "status": status, "headers": _EMPTY[status != 204]})
        await send({"type": "http.response.body", "body": b""})


_EMPTY: dict[bool, list[tuple[bytes, bytes]]] = {True: [(b"content-length", b"0")], False: []}


async def _body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None once it grows past `limit` (a chunked body declares no length)."""
    parts: list[bytes] = []
    size = 0
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(parts)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)
