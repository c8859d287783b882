"""Command line: `python -m simulator --port 8009 [--config FILE] [--seed N] [--behaviour JSON] …`."""

from __future__ import annotations

import argparse
import gc
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from simulator.app import create_app, simulation_of
from simulator.config import SimulatorConfig
from simulator.server import SimulatorServer


def main(argv: Sequence[str] | None = None) -> None:
    arguments = _parser().parse_args(argv)
    # The collector in large steps, as filet's services run it (shared/runtime.py): at Python's default
    # first threshold (700), collections took 9.3 of the simulator's 37 CPU s in the full-cycle benchmark.
    gc.set_threshold(50_000, 10, 10)
    config = SimulatorConfig.model_validate(_settings(arguments))
    app = create_app(config)
    server = SimulatorServer(
        app,
        host=arguments.host,
        port=arguments.port,
        doorway=simulation_of(app).doorway,
        log_level=arguments.log_level,
    )
    server.run()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m simulator",
        description="Mobile-money provider simulator (GSMA MMAPI, MTN MoMo, Wave, Orange-style bulk).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8009, help="port to listen on (default 8009)")
    parser.add_argument("--config", type=Path, help="JSON file with a SimulatorConfig (see README)")
    parser.add_argument("--seed", type=int, help="seed of every random choice (overrides the file)")
    parser.add_argument(
        "--behaviour",
        help='JSON knobs per dialect or "all", merged over the file\'s, e.g. \'{"mtn": {"failures": '
        '{"RECIPIENT_NOT_FOUND": 0.1}}}\'',
    )
    parser.add_argument("--wave-webhook-url", help="where Wave webhooks are sent")
    parser.add_argument("--wave-webhook-secret", help="secret Wave webhooks are signed with")
    parser.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    return parser


def _settings(arguments: argparse.Namespace) -> dict[str, Any]:
    """The file's settings (if any) with the flags over them."""
    settings: dict[str, Any] = (
        json.loads(arguments.config.read_text(encoding="utf-8")) if arguments.config else {}
    )
    if arguments.seed is not None:
        settings["seed"] = arguments.seed
    if arguments.behaviour:
        behaviour = settings.setdefault("behaviour", {})
        for dialect, knobs in json.loads(arguments.behaviour).items():
            behaviour[dialect] = {**behaviour.get(dialect, {}), **knobs}
    wave = settings.setdefault("wave", {})
    if arguments.wave_webhook_url:
        wave["webhook_url"] = arguments.wave_webhook_url
    if arguments.wave_webhook_secret:
        wave["webhook_secret"] = arguments.wave_webhook_secret
    return settings


if __name__ == "__main__":
    main()
