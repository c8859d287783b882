"""The HTTP edge shared by every service: tokens and roles, JSON errors, idempotency keys, health."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from enrolment.api.app import create_app
from shared.auth import TokenStore
from shared.settings import Settings


@pytest.fixture
def client(db: Engine, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, db), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def tokens(db: Engine) -> dict[str, str]:
    store = TokenStore(db)
    return {
        role: store.create(name=f"{role}-user", role=role)
        for role in ("operator", "approver", "auditor", "admin", "provider:simulator", "vendor:v1")
    }


def bearer(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


def household(rsu_id: str = "RSU-KY-000001", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "rsu_id": rsu_id,
        "head_name": "Aminata Traoré",
        "size": 6,
        "region": "Kayes",
        "cercle": "Kita",
        "commune": "Kita",
        "msisdn": "+22376123401",
    }
    body.update(overrides)
    return body


def test_a_request_without_a_token_is_refused_with_401_and_a_json_reason(client: TestClient) -> None:
    answer = client.post("/v1/households", json=household())

    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "unauthenticated"
    assert answer.headers["WWW-Authenticate"] == "Bearer"


def test_an_unknown_token_is_refused_with_401(client: TestClient) -> None:
    answer = client.get("/v1/households/00000000-0000-0000-0000-000000000000", headers=bearer("filet_nope"))

    assert answer.status_code == 401
    assert answer.json()["error"]["message"] == "unknown or revoked token"


def test_a_revoked_token_is_refused(client: TestClient, db: Engine) -> None:
    store = TokenStore(db, cache_seconds=0)
    token = store.create(name="leaver", role="operator")
    store.revoke(token)
    client.app.state.tokens = store  # type: ignore[attr-defined]

    assert client.post("/v1/households", json=household(), headers=bearer(token)).status_code == 401


@pytest.mark.parametrize("role", ["approver", "auditor", "provider:simulator", "vendor:v1"])
def test_a_role_that_may_not_write_households_gets_403(
    client: TestClient, tokens: dict[str, str], role: str
) -> None:
    answer = client.post("/v1/households", json=household(), headers=bearer(tokens[role]))

    assert answer.status_code == 403
    assert answer.json()["error"]["details"]["allowed_roles"] == ["operator", "admin"]


@pytest.mark.parametrize("role", ["approver", "provider:simulator", "vendor:v1"])
def test_a_role_that_may_not_read_households_gets_403(
    client: TestClient, tokens: dict[str, str], role: str
) -> None:
    answer = client.get("/v1/households/00000000-0000-0000-0000-000000000000", headers=bearer(tokens[role]))

    assert answer.status_code == 403


def test_tokens_are_stored_hashed_never_in_clear(db: Engine, tokens: dict[str, str]) -> None:
    from sqlalchemy import text

    with db.connect() as conn:
        stored = set(conn.execute(text("SELECT token_hash FROM identity.token")).scalars())
    assert not stored & set(tokens.values())
    assert len(stored) == len(tokens)


def test_the_same_idempotency_key_and_body_replays_the_first_answer(
    client: TestClient, tokens: dict[str, str], db: Engine
) -> None:
    headers = bearer(tokens["operator"], **{"Idempotency-Key": "import-42"})
    first = client.post("/v1/households", json=household(), headers=headers)
    second = client.post("/v1/households", json=household(), headers=headers)

    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert _count(db, "enrolment.household") == 1
    assert _count(db, "enrolment.outbox WHERE type = 'household.registered'") == 1


def test_the_same_idempotency_key_with_another_body_is_a_409(
    client: TestClient, tokens: dict[str, str]
) -> None:
    headers = bearer(tokens["operator"], **{"Idempotency-Key": "k-1"})
    client.post("/v1/households", json=household(), headers=headers)
    answer = client.post("/v1/households", json=household(size=7), headers=headers)

    assert answer.status_code == 409
    assert answer.json()["error"]["details"] == {"idempotency_key": "k-1"}


def test_concurrent_requests_with_one_idempotency_key_register_one_household(
    client: TestClient, tokens: dict[str, str], db: Engine
) -> None:
    headers = bearer(tokens["operator"], **{"Idempotency-Key": "race"})
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(
            pool.map(lambda _: client.post("/v1/households", json=household(), headers=headers), range(6))
        )

    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1
    assert _count(db, "enrolment.household") == 1


def test_a_household_already_registered_is_a_409_naming_it(
    client: TestClient, tokens: dict[str, str]
) -> None:
    first = client.post("/v1/households", json=household(), headers=bearer(tokens["operator"]))
    again = client.post(
        "/v1/households", json=household(head_name="Autre"), headers=bearer(tokens["operator"])
    )

    assert again.status_code == 409
    assert again.json()["error"]["details"]["household_id"] == first.json()["id"]


def test_a_body_breaking_the_schema_gets_422_with_each_field_and_reason(
    client: TestClient, tokens: dict[str, str], db: Engine
) -> None:
    answer = client.post(
        "/v1/households", json=household(size=0, msisdn="+33612345678"), headers=bearer(tokens["operator"])
    )

    assert answer.status_code == 422
    fields = {item["field"] for item in answer.json()["error"]["details"]}
    assert fields == {"body.size", "body.msisdn"}
    assert _count(db, "enrolment.household") == 0


def test_a_body_larger_than_the_limit_gets_413(
    db: Engine, settings: Settings, tokens: dict[str, str]
) -> None:
    small = settings.model_copy(update={"max_body_bytes": 1024})
    with TestClient(create_app(small, db)) as client:
        answer = client.post(
            "/v1/households",
            content=b"x" * 5000,
            headers=bearer(tokens["operator"], **{"Content-Type": "application/json"}),
        )
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "payload_too_large"


def test_an_unknown_path_is_a_json_404(client: TestClient) -> None:
    answer = client.get("/v1/nothing-here")

    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"


def test_health_readiness_and_metrics_answer(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "service": "enrolment"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}
    client.get("/healthz")
    assert (
        'http_requests_total{method="GET",route="/healthz",service="enrolment",status="200"}'
        in client.get("/metrics").text
    )


def test_readiness_reports_an_unreachable_broker_as_503(db: Engine, settings: Settings) -> None:
    broken = settings.model_copy(update={"kafka_bootstrap_servers": "127.0.0.1:1"})
    with TestClient(create_app(broken, db)) as client:
        answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["checks"]["broker"] == "unreachable"


def _count(db: Engine, table_and_filter: str) -> int:
    from sqlalchemy import text

    with db.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table_and_filter}")).scalar_one())
