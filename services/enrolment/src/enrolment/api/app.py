"""`create_app(settings)` for the enrolment service, and its `main()` (uvicorn)."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine

from enrolment.api.import_runner import ImportRunner
from enrolment.api.routes import routers
from enrolment.service import ENROLMENT
from shared.db import build_engine
from shared.http.app import build_app
from shared.http.server import serve
from shared.settings import Settings

DESCRIPTION = """The household registry: programmes, households, imports, deduplication, enrolments.

Operators and admins write; auditors, operators and admins read; other roles get 403. Writes accept an
`Idempotency-Key` header. Lists are paginated by keyset: follow `links.next` until it is null.
"""


def create_app(settings: Settings, engine: Engine | None = None) -> FastAPI:
    engine = engine or build_engine(settings.require_database_url(), application_name="enrolment-api")
    app = build_app(
        service="enrolment", settings=settings, engine=engine, routers=routers, description=DESCRIPTION
    )
    app.state.unit_of_work = ENROLMENT.unit_of_work(engine, settings)
    app.state.imports = ImportRunner(engine, app.state.unit_of_work)
    return app


def main() -> None:
    serve("enrolment", create_app, default_port=8001)


if __name__ == "__main__":
    main()
