"""Who may call what: operators and admins write, auditors read too, approvers, providers and vendors never."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from enrolment.api.app import create_app
from shared.auth import TokenStore
from shared.settings import Settings

ROLES = ("operator", "approver", "auditor", "admin", "provider:simulator", "vendor:v1")

NOBODY = str(uuid.UUID(int=0))
WRITE = ("operator", "admin")
READ = ("operator", "auditor", "admin")

#: Every route, with a body that is refused (404/422) once past the role check, so nothing is written.
ROUTES: list[tuple[str, str, dict[str, Any], tuple[str, ...]]] = [
    ("GET", "/v1/programmes", {}, READ),
    ("POST", "/v1/programmes", {"json": {}}, WRITE),
    ("GET", "/v1/programmes/NOPE", {}, READ),
    ("POST", "/v1/households", {"json": {}}, WRITE),
    ("GET", "/v1/households", {}, READ),
    ("GET", f"/v1/households/{NOBODY}", {}, READ),
    ("PATCH", f"/v1/households/{NOBODY}", {"json": {"size": 0}}, WRITE),
    ("POST", "/v1/household-imports", {"content": b"", "headers": {"Content-Type": "text/csv"}}, WRITE),
    ("GET", f"/v1/household-imports/{NOBODY}", {}, READ),
    ("POST", "/v1/enrolments", {"json": {}}, WRITE),
    ("GET", "/v1/enrolments", {}, READ),
    ("GET", f"/v1/enrolments/{NOBODY}", {}, READ),
    ("POST", f"/v1/enrolments/{NOBODY}/transitions", {"json": {}}, WRITE),
    ("POST", "/v1/enrolments/transitions", {"json": {}}, WRITE),
    ("POST", "/v1/enrolments/sweeps", {}, WRITE),
    ("GET", "/v1/duplicates", {}, READ),
    ("POST", "/v1/duplicates/0/decision", {"json": {}}, WRITE),
    ("GET", "/v1/reports/overlaps", {}, READ),
]


@pytest.fixture(scope="module")
def roles_client(
    engine: Engine, database_url: str, bootstrap: str
) -> Iterator[tuple[TestClient, dict[str, str]]]:
    settings = Settings(database_url=database_url, kafka_bootstrap_servers=bootstrap, topic_prefix="roles")
    store = TokenStore(engine)
    tokens = {role: store.create(name=f"{role}-of-roles", role=role) for role in ROLES}
    with TestClient(create_app(settings, engine), raise_server_exceptions=False) as client:
        yield client, tokens


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("method", "path", "options", "allowed"), ROUTES, ids=[f"{r[0]} {r[1]}" for r in ROUTES]
)
def test_each_route_admits_only_its_roles(
    roles_client: tuple[TestClient, dict[str, str]],
    method: str,
    path: str,
    options: dict[str, Any],
    allowed: tuple[str, ...],
    role: str,
) -> None:
    client, tokens = roles_client
    headers = {**options.get("headers", {}), "Authorization": f"Bearer {tokens[role]}"}
    request = {key: value for key, value in options.items() if key != "headers"}

    answer = client.request(method, path, headers=headers, **request)

    if role in allowed:
        assert answer.status_code not in (401, 403), answer.text
        assert answer.status_code < 500, answer.text
    else:
        assert answer.status_code == 403
        assert answer.json()["error"]["details"]["allowed_roles"] == list(allowed)


@pytest.mark.parametrize(("method", "path", "options", "allowed"), ROUTES[:3], ids=["GET", "POST", "GET one"])
def test_a_route_without_a_token_is_a_401(
    roles_client: tuple[TestClient, dict[str, str]],
    method: str,
    path: str,
    options: dict[str, Any],
    allowed: tuple[str, ...],
) -> None:
    client, _ = roles_client

    assert client.request(method, path, **options).status_code == 401
