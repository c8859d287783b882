"""Runs a service's app under uvicorn (the `python -m <service>.api.app` entry point)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from shared.runtime import start_process
from shared.settings import Settings


def serve(service: str, create_app: Callable[[Settings], FastAPI], *, default_port: int) -> None:
    parser = argparse.ArgumentParser(description=f"filet {service} API")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=default_port)
    args = parser.parse_args()
    settings = Settings()
    start_process(f"{service}-api", settings.log_level)
    app = create_app(settings)
    uvicorn.run(
        app, host=args.host, port=args.port, log_config=None, access_log=False, timeout_graceful_shutdown=5
    )
