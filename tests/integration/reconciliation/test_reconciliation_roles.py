"""Who may call what: auditors and admins read everything, operators read and resolve, others get 403."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

SOME = uuid.UUID(int=7)
READS = [
    f"/v1/statements/{SOME}",
    f"/v1/cycles/{SOME}/reconciliation",
    f"/v1/cycles/{SOME}/discrepancies",
    f"/v1/cycles/{SOME}/report.json",
    f"/v1/cycles/{SOME}/report.csv",
    f"/v1/cycles/{SOME}/report.xlsx",
    "/v1/audit",
    "/v1/audit/verification",
]
WRITES = [
    ("/v1/statements", {"content": b"<Document/>", "headers": {"Content-Type": "application/xml"}}),
    (f"/v1/discrepancies/{SOME}/resolution", {"json": {"reason": "explained"}}),
]


def allowed(status: int) -> bool:
    """Past the role check: found, not found, or refused for its content, but not 401/403."""
    return status not in (401, 403)


@pytest.mark.parametrize("path", READS)
@pytest.mark.parametrize(
    ("role", "may"),
    [
        ("auditor", True),
        ("admin", True),
        ("operator", True),
        ("approver", False),
        ("provider:simulator", False),
        ("vendor:v1", False),
    ],
)
def test_every_read_route_admits_auditors_admins_and_operators_only(
    client: TestClient, tokens: dict[str, str], path: str, role: str, may: bool
) -> None:
    status = client.get(path, headers={"Authorization": f"Bearer {tokens[role]}"}).status_code

    assert allowed(status) if may else status == 403


@pytest.mark.parametrize(("path", "request_options"), WRITES, ids=["statement-import", "resolution"])
@pytest.mark.parametrize(
    ("role", "may"),
    [
        ("operator", True),
        ("admin", True),
        ("auditor", False),
        ("approver", False),
        ("provider:simulator", False),
        ("vendor:v1", False),
    ],
)
def test_every_write_route_admits_operators_and_admins_only(
    client: TestClient,
    tokens: dict[str, str],
    path: str,
    request_options: dict[str, Any],
    role: str,
    may: bool,
) -> None:
    options = dict(request_options)
    extra: dict[str, str] = options.pop("headers", {})
    headers = {**extra, "Authorization": f"Bearer {tokens[role]}"}
    status = client.post(path, headers=headers, **options).status_code

    assert allowed(status) if may else status == 403


@pytest.mark.parametrize("path", [*READS])
def test_every_route_needs_a_token(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 401
