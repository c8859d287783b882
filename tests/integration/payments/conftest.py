"""Payments fixtures: the payments API and the provider simulator on loopback ports, tokens, seeded households."""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

_SIMULATOR = str(Path(__file__).resolve().parents[3] / "services" / "simulator" / "src")
if _SIMULATOR not in sys.path:
    sys.path.insert(0, _SIMULATOR)

from filet.embedded import free_port  # noqa: E402
from payments.api.app import create_app  # noqa: E402
from payments.consumer import HANDLERS  # noqa: E402
from payments.db.unit_of_work import PaymentsUnitOfWork  # noqa: E402
from payments.dispatcher import Dispatcher  # noqa: E402
from payments.gateways import build_gateways  # noqa: E402
from payments.providers.transport import DirectHttp, KeepAliveTransport  # noqa: E402
from payments.service import unit_of_work_factory  # noqa: E402
from payments.settings import PaymentsSettings  # noqa: E402
from payments.use_cases.process_pending_callbacks import process_pending_callbacks  # noqa: E402
from shared.auth import TokenStore  # noqa: E402
from shared.events import new_envelope  # noqa: E402
from shared.events.contracts import EnrolmentItem, EnrolmentsActivated, HouseholdFacts, HouseholdsRegistered  # noqa: E402
from shared.settings import Settings  # noqa: E402
from simulator import BackgroundServer, SimulatorConfig  # noqa: E402

WAVE_SECRET = "wave-test-secret"
OPERATORS = {"orange": "gsma", "moov": "mtn", "other": "wave"}


@pytest.fixture(scope="session")
def payments_port() -> int:
    return free_port()


@pytest.fixture(scope="session")
def session_settings(database_url: str, bootstrap: str) -> Settings:
    return Settings(database_url=database_url, kafka_bootstrap_servers=bootstrap, topic_prefix="tpay")


@pytest.fixture(scope="session")
def simulator(payments_port: int) -> Iterator[BackgroundServer]:
    config = SimulatorConfig.model_validate(
        {
            "seed": 11,
            "wave": {
                "webhook_url": f"http://127.0.0.1:{payments_port}/v1/callbacks/wave",
                "webhook_secret": WAVE_SECRET,
            },
            "callbacks": {"retry_base_ms": 20, "timeout_seconds": 5, "max_attempts": 3},
            "behaviour": {"all": {"processing_ms": 5}},
        }
    )
    with BackgroundServer.simulator(config) as server:
        yield server


@pytest.fixture(scope="session")
def payments_settings(payments_port: int) -> PaymentsSettings:
    return PaymentsSettings(
        callback_url=f"http://127.0.0.1:{payments_port}",
        wave_webhook_secrets=f"an-old-secret,{WAVE_SECRET}",
        chunk_size=200,
        batch_size=100,
        concurrency=8,
        stale_after_seconds=2,
        provider_timeout_seconds=2,
    )


@pytest.fixture(scope="session")
def payments_server(
    engine: Engine, session_settings: Settings, payments_settings: PaymentsSettings, payments_port: int
) -> Iterator[str]:
    app = create_app(session_settings, engine, payments_settings)
    with BackgroundServer(app, port=payments_port) as server:
        yield server.base_url


@pytest.fixture
def sim(simulator: BackgroundServer) -> Iterator[httpx.Client]:
    """The simulator's admin client, reset to its start-up state."""
    with httpx.Client(base_url=simulator.base_url, timeout=10, trust_env=False) as client:
        client.post("/_admin/reset", json={})
        yield client


@pytest.fixture
def api(db: Engine, payments_server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=payments_server, timeout=30, trust_env=False) as client:
        yield client


@pytest.fixture
def tokens(db: Engine) -> dict[str, str]:
    store = TokenStore(db)
    users = {
        "maker": "operator",
        "maker-2": "operator",
        "checker": "approver",
        "checker-2": "approver",
        "auditor": "auditor",
        "admin": "admin",
        "vendor": "vendor:v1",
        "provider": "provider:simulator",
    }
    return {name: store.create(name=name, role=role) for name, role in users.items()}


@pytest.fixture
def approver_named(db: Engine) -> Callable[[str], str]:
    """A token with role approver for a user of the given name (to test maker-checker by name)."""
    store = TokenStore(db)
    return lambda name: store.create(name=name, role="approver")


def bearer(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


@pytest.fixture
def uow(db: Engine, session_settings: Settings) -> Callable[[], PaymentsUnitOfWork]:
    return unit_of_work_factory(db, session_settings)


@pytest.fixture
def process_callbacks(
    uow: Callable[[], PaymentsUnitOfWork], payments_settings: PaymentsSettings
) -> Callable[[], int]:
    """Apply every pending callback now, as the dispatcher's callback loop does; how many were settled."""

    def process() -> int:
        done = 0
        while True:
            with uow() as unit:
                settled = process_pending_callbacks(unit, limit=500, wave_secrets=payments_settings.secrets())
                unit.commit()
            if not settled:
                return done
            done += settled

    return process


Seed = Callable[..., list[uuid.UUID]]


@pytest.fixture
def seed(uow: Callable[[], PaymentsUnitOfWork]) -> Seed:
    """Register households and activate them in a programme through the consumer's own rules."""

    def make(
        programme: str = "JIGI",
        count: int = 3,
        *,
        operator: str = "orange",
        region: str = "Kayes",
        commune: str = "Kita",
        size: int = 5,
        household_ids: list[uuid.UUID] | None = None,
        **facts: Any,
    ) -> list[uuid.UUID]:
        ids = household_ids or [uuid.uuid4() for _ in range(count)]
        households = [
            HouseholdFacts(
                household_id=household_id,
                rsu_id=f"RSU-{household_id.hex[:10]}",
                head_name=f"Chef {index}",
                msisdn=f"+2237{household_id.int % 10**7:07d}",
                operator=operator,
                size=size,
                region=region,
                cercle=commune,
                commune=commune,
                **facts,
            )
            for index, household_id in enumerate(ids)
        ]
        items = [
            EnrolmentItem(
                enrolment_id=uuid.uuid4(), household_id=h, status="active", effective_at=datetime.now(UTC)
            )
            for h in ids
        ]
        with uow() as unit:
            for data in (
                HouseholdsRegistered(items=households),
                EnrolmentsActivated(programme_code=programme, status="active", items=items),
            ):
                envelope = new_envelope(source="/filet/enrolment", data=data, subject=programme)
                HANDLERS[envelope.type](unit, envelope)
            unit.commit()
        return ids

    return make


def jigisemejiri(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "programme_code": "JIGI",
        "reference_code": "J",
        "first_period": "2026-Q1",
        "modality": "mobile_money",
        "basis": {"kind": "monthly_rate", "monthly_amount": 10_000, "every_months": 3},
        "cycles": 12,
        "routing": OPERATORS,
    }
    body.update(overrides)
    return body


@pytest.fixture
def dispatcher_settings(session_settings: Settings, simulator: BackgroundServer) -> Settings:
    return Settings(
        database_url=session_settings.database_url,
        kafka_bootstrap_servers=session_settings.kafka_bootstrap_servers,
        topic_prefix=session_settings.topic_prefix,
        simulator_url=simulator.base_url,
    )


@pytest.fixture
def dispatcher(
    db: Engine, dispatcher_settings: Settings, payments_settings: PaymentsSettings, payments_server: str
) -> Iterator[Dispatcher]:
    dispatcher = _new_dispatcher(db, dispatcher_settings, payments_settings)
    yield dispatcher
    dispatcher.close()


@pytest.fixture
def second_dispatcher(
    db: Engine, dispatcher_settings: Settings, payments_settings: PaymentsSettings, payments_server: str
) -> Iterator[Dispatcher]:
    """Another dispatcher over the same database and providers, as a second process would be."""
    dispatcher = _new_dispatcher(db, dispatcher_settings, payments_settings)
    yield dispatcher
    dispatcher.close()


def _new_dispatcher(db: Engine, settings: Settings, payments_settings: PaymentsSettings) -> Dispatcher:
    """A dispatcher as `python -m payments.dispatcher` builds one (its HTTP straight to a keep-alive transport)."""
    http = DirectHttp(KeepAliveTransport(), user_agent="filet-test-dispatcher")
    return Dispatcher(
        unit_of_work_factory(db, settings),
        build_gateways(settings, payments_settings, http),
        payments_settings,
    )


class Flow:
    """A cycle through maker-checker, as the tests drive it."""

    def __init__(self, api: httpx.Client, tokens: dict[str, str]) -> None:
        self.api = api
        self.tokens = tokens

    def auth(self, who: str, **extra: str) -> dict[str, str]:
        return bearer(self.tokens[who], **extra)

    def scheme(self, **overrides: Any) -> httpx.Response:
        return self.api.post(
            "/v1/schemes", json=jigisemejiri(**overrides), headers=bearer(self.tokens["maker"])
        )

    def cycle(self, programme: str = "JIGI", period: str = "2026-Q1", **extra: Any) -> httpx.Response:
        body = {"programme_code": programme, "period": period, "funding_line": "IDA-6543", **extra}
        return self.api.post("/v1/cycles", json=body, headers=bearer(self.tokens["maker"]))

    def decide(self, cycle_id: str, step: str, who: str, **body: Any) -> httpx.Response:
        return self.api.post(
            f"/v1/cycles/{cycle_id}/{step}", json=body or None, headers=bearer(self.tokens[who])
        )

    def released(self, programme: str = "JIGI", period: str = "2026-Q1") -> str:
        created = self.cycle(programme, period)
        assert created.status_code == 201, created.text
        cycle_id = str(created.json()["id"])
        assert self.decide(cycle_id, "submission", "maker").status_code == 200
        assert self.decide(cycle_id, "approval", "checker").status_code == 200
        assert self.decide(cycle_id, "release", "maker").status_code == 202
        return cycle_id

    def cycle_view(self, cycle_id: str) -> dict[str, Any]:
        answer = self.api.get(f"/v1/cycles/{cycle_id}", headers=bearer(self.tokens["auditor"]))
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result


@pytest.fixture
def flow(api: httpx.Client, tokens: dict[str, str]) -> Flow:
    return Flow(api, tokens)


def drive(dispatcher: Dispatcher, until: Callable[[], bool], *, timeout: float = 30.0) -> None:
    """Step the dispatcher until `until()` holds (a deadline, never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while not until():
        if time.monotonic() > deadline:
            raise AssertionError(f"the dispatcher did not get there within {timeout:.0f} s")
        if not dispatcher.step():
            time.sleep(0.05)


@pytest.fixture
def driven(dispatcher: Dispatcher) -> Callable[..., None]:
    return lambda until, timeout=30.0: drive(dispatcher, until, timeout=timeout)


@pytest.fixture
def states(uow: Callable[[], PaymentsUnitOfWork]) -> Callable[[str], dict[str, int]]:
    """Count of payments per state in a cycle."""

    def count(cycle_id: str) -> dict[str, int]:
        with uow() as unit:
            return unit.payments.cycle_figures(uuid.UUID(cycle_id))[0]

    return count
