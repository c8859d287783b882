"""`create_app(settings)` for the payments service, and its `main()` (uvicorn)."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine

from payments.api.routes import router
from payments.service import PAYMENTS
from payments.settings import PaymentsSettings
from shared.db import build_engine
from shared.http.app import build_app
from shared.http.server import serve
from shared.settings import Settings

DESCRIPTION = "Schemes, cycles with maker-checker, payment instructions, provider callbacks, vouchers."


def create_app(
    settings: Settings, engine: Engine | None = None, payments_settings: PaymentsSettings | None = None
) -> FastAPI:
    engine = engine or build_engine(settings.require_database_url(), application_name="payments-api")
    app = build_app(
        service="payments", settings=settings, engine=engine, routers=[router], description=DESCRIPTION
    )
    app.state.unit_of_work = PAYMENTS.unit_of_work(engine, settings)
    app.state.payments_settings = payments_settings or PaymentsSettings()
    return app


def main() -> None:
    serve("payments", create_app, default_port=8002)


if __name__ == "__main__":
    main()
