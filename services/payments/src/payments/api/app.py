"""`create_app(settings)` for the payments service, and its `main()` (uvicorn)."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine
from starlette.middleware import Middleware

from payments.api.callbacks import CallbackEndpoints
from payments.api.routes import router
from payments.db.inbox import CallbackInbox
from payments.service import PAYMENTS
from payments.settings import PaymentsSettings
from shared.db import build_engine
from shared.http.app import build_app
from shared.http.server import serve
from shared.settings import Settings

DESCRIPTION = "Schemes, cycles with maker-checker, payment instructions, provider callbacks, vouchers."


def create_app(
    settings: Settings,
    engine: Engine | None = None,
    payments_settings: PaymentsSettings | None = None,
    *,
    freeze_heap: bool = False,
) -> FastAPI:
    """The payments app; `freeze_heap` (its own server process only) keeps start-up objects out of the GC's
    full collections, which otherwise stall every request in flight for ~100 ms now and then."""
    engine = engine or build_engine(settings.require_database_url(), application_name="payments-api")
    payments_settings = payments_settings or PaymentsSettings()
    inbox = CallbackInbox(
        engine.url.set(drivername="postgresql").render_as_string(hide_password=False),
        size=payments_settings.callback_connections,
    )
    receiver = Middleware(
        CallbackEndpoints,
        inbox=inbox,
        wave_secrets=payments_settings.secrets(),
        max_body_bytes=settings.max_body_bytes,
    )
    app = build_app(
        service="payments",
        settings=settings,
        engine=engine,
        routers=[router],
        description=DESCRIPTION,
        middleware=[receiver],
    )
    app.state.unit_of_work = PAYMENTS.unit_of_work(engine, settings)
    app.state.payments_settings = payments_settings
    starting = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[Any]:
        async with starting(app) as state:
            if freeze_heap:
                gc.collect()
                gc.freeze()
            try:
                yield state
            finally:
                await inbox.close()

    app.router.lifespan_context = lifespan
    return app


def main() -> None:
    serve("payments", lambda settings: create_app(settings, freeze_heap=True), default_port=8002)


if __name__ == "__main__":
    main()
