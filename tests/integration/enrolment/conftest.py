"""The enrolment API on real PostgreSQL: a client, a token per role, household files, deadlines."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from enrolment.api.app import create_app
from shared.auth import TokenStore
from shared.settings import Settings

ROLES = ("operator", "approver", "auditor", "admin", "provider:simulator", "vendor:v1")
COLUMNS = (
    "rsu_id", "head_name", "head_sex", "head_birth_year", "size", "region", "cercle", "commune", "village",
    "msisdn", "nina", "pmt_score", "hea_category",
)  # fmt: skip

Headers = Callable[[str], dict[str, str]]
Record = Callable[..., dict[str, str]]
CsvFile = Callable[[list[dict[str, str]]], bytes]
Import = Callable[..., dict[str, Any]]
Count = Callable[[str], int]
Finished = Callable[[str], dict[str, Any]]


def wait_until(predicate: Callable[[], bool], *, timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture
def client(db: Engine, settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings, db)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
        for thread in app.state.imports.threads:
            thread.join(timeout=60)


@pytest.fixture
def tokens(db: Engine) -> dict[str, str]:
    store = TokenStore(db)
    return {role: store.create(name=f"{role}-user", role=role) for role in ROLES}


@pytest.fixture
def as_role(tokens: dict[str, str]) -> Headers:
    def headers(role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[role]}"}

    return headers


@pytest.fixture
def record() -> Record:
    """A valid household record (canonical column -> text); `n` makes RSU id, phone and NINA unique."""

    def build(n: int = 1, **overrides: str) -> dict[str, str]:
        values = {
            "rsu_id": f"RSU-T-{n:06d}",
            "head_name": f"Aminata Traoré {chr(65 + n % 26)}{n}",
            "head_sex": "F",
            "head_birth_year": str(1960 + n % 40),
            "size": "5",
            "region": "Kayes",
            "cercle": "Kita",
            "commune": "Kita",
            "village": f"Village {n}",
            "msisdn": f"+2237{n:07d}",
            "nina": f"{n:014d}A",
            "pmt_score": f"{8 + n % 5},{n % 100:02d}",
            "hea_category": "Pauvres",
        }
        values.update(overrides)
        return values

    return build


@pytest.fixture
def csv_file() -> CsvFile:
    def write(records: list[dict[str, str]]) -> bytes:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(records[0]) if records else list(COLUMNS), delimiter=";")
        writer.writeheader()
        writer.writerows(records)
        return out.getvalue().encode("utf-8")

    return write


@pytest.fixture
def run_import(client: TestClient, as_role: Headers) -> Import:
    """Post a file and wait for its job to finish; returns the final job (first page of its report)."""

    def post(
        body: bytes, *, content_type: str = "text/csv", strict: bool = False, limit: int = 1000
    ) -> dict[str, Any]:
        headers = {**as_role("operator"), "Content-Type": content_type}
        answer = client.post(
            f"/v1/household-imports?strict={str(strict).lower()}", content=body, headers=headers
        )
        assert answer.status_code == 202, answer.text
        return finished(client, answer.json()["id"], as_role, limit=limit)

    return post


def finished(client: TestClient, import_id: str, as_role: Headers, *, limit: int = 1000) -> dict[str, Any]:
    job: dict[str, Any] = {}

    def done() -> bool:
        nonlocal job
        job = client.get(
            f"/v1/household-imports/{import_id}?limit={limit}", headers=as_role("auditor")
        ).json()
        return job["status"] in ("completed", "failed", "rolled_back")

    wait_until(done, what=f"import {import_id} to finish")
    return job


@pytest.fixture
def wait_for_import(client: TestClient, as_role: Headers) -> Finished:
    return lambda import_id: finished(client, import_id, as_role)


@pytest.fixture
def count(db: Engine) -> Count:
    def run(sql: str) -> int:
        with db.connect() as conn:
            return int(conn.execute(text(sql)).scalar_one())

    return run


@pytest.fixture
def events(db: Engine) -> Callable[[str], list[dict[str, Any]]]:
    """The data of every event of one type in enrolment's outbox, oldest first."""
    import orjson

    def of(event_type: str) -> list[dict[str, Any]]:
        with db.connect() as conn:
            rows = conn.execute(
                text("SELECT payload FROM enrolment.outbox WHERE type = :t ORDER BY id"), {"t": event_type}
            ).scalars()
            return [orjson.loads(bytes(payload))["data"] for payload in rows]

    return of
