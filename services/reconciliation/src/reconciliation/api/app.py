"""`create_app(settings)` for the reconciliation service, and its `main()` (uvicorn)."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine

from reconciliation.api.routes import router
from reconciliation.service import RECONCILIATION
from shared.db import build_engine
from shared.http.app import build_app
from shared.http.server import serve
from shared.settings import Settings

DESCRIPTION = "Statements, three-way matching, discrepancies, auditor reports, the audit trail."


def create_app(settings: Settings, engine: Engine | None = None) -> FastAPI:
    engine = engine or build_engine(settings.require_database_url(), application_name="reconciliation-api")
    app = build_app(
        service="reconciliation", settings=settings, engine=engine, routers=[router], description=DESCRIPTION
    )
    app.state.unit_of_work = RECONCILIATION.unit_of_work(engine, settings)
    return app


def main() -> None:
    serve("reconciliation", create_app, default_port=8003)


if __name__ == "__main__":
    main()
