"""Fixtures: a simulator and a callback receiver on loopback for the session, both wiped before each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from simulator import BackgroundServer, CallbackReceiver, SimulatorConfig

WAVE_SECRET = "wave-test-secret"


@pytest.fixture(scope="session")
def wave_secret() -> str:
    """The secret the simulators under test sign Wave webhooks with."""
    return WAVE_SECRET


@pytest.fixture(scope="session")
def receiver() -> CallbackReceiver:
    return CallbackReceiver()


@pytest.fixture(scope="session")
def callback_base(receiver: CallbackReceiver) -> Iterator[str]:
    """Where the receiver listens; callbacks are sent to paths under it."""
    with BackgroundServer(receiver.app) as server:
        yield server.base_url


ConfigFactory = Callable[..., SimulatorConfig]


@pytest.fixture(scope="session")
def make_config(callback_base: str) -> ConfigFactory:
    """Configs with fast processing and retries and Wave webhooks to the receiver.

    `make_config(behaviour={"mtn": {...}}, mtn={"callback_method": "POST"})`: behaviour per dialect, and
    settings merged over the defaults.
    """

    def make(behaviour: dict[str, Any] | None = None, **settings: Any) -> SimulatorConfig:
        raw: dict[str, Any] = {
            "seed": 7,
            "wave": {"webhook_url": f"{callback_base}/wave", "webhook_secret": WAVE_SECRET},
            "callbacks": {"retry_base_ms": 20, "timeout_seconds": 2},
            "behaviour": {"all": {"processing_ms": 5}, **(behaviour or {})},
        }
        for key, value in settings.items():
            raw[key] = {**raw.get(key, {}), **value} if isinstance(value, dict) else value
        return SimulatorConfig.model_validate(raw)

    return make


@pytest.fixture(scope="session")
def simulator(make_config: ConfigFactory) -> Iterator[BackgroundServer]:
    with BackgroundServer.simulator(make_config()) as server:
        yield server


@pytest.fixture(scope="session")
def simulator_url(simulator: BackgroundServer) -> str:
    return simulator.base_url


@pytest.fixture(scope="session")
def session_client(simulator: BackgroundServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=simulator.base_url, timeout=10, trust_env=False) as client:
        yield client


@pytest.fixture
def client(session_client: httpx.Client, receiver: CallbackReceiver) -> httpx.Client:
    """A client of the session's simulator, reset to its start-up state, with an empty receiver."""
    assert session_client.post("/_admin/reset").status_code == 200
    receiver.clear()
    return session_client
