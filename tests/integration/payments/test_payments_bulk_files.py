"""Providers without an API (Orange-Money-style portal): a cycle's payments handed over as a file, uploaded to
the simulated portal, settled by the portal's report — nothing sent twice, nothing applied twice."""

from __future__ import annotations

import csv
import io
import time
from typing import Any

import httpx
from sqlalchemy import Engine, text

Flow = Any
Seed = Any


def _completed(sim: httpx.Client, batch_id: str) -> None:
    deadline = time.monotonic() + 10
    while sim.get(f"/orange/bulk/{batch_id}").json()["status"] != "completed":
        assert time.monotonic() < deadline, f"portal batch {batch_id} did not complete"
        time.sleep(0.02)


def _states(db: Engine, cycle_id: str) -> dict[str, int]:
    with db.connect() as conn:
        rows = conn.execute(
            text('SELECT state, count(*) FROM "payments".payment WHERE cycle_id = :c GROUP BY state'),
            {"c": cycle_id},
        ).all()
    return {state: count for state, count in rows}


def test_a_cycle_paid_through_a_portal_file_and_its_report(
    flow: Flow, seed: Seed, sim: httpx.Client, db: Engine, driven: Any
) -> None:
    sim.patch("/_admin/behaviour", json={"orange": {"failures": {"RECIPIENT_NOT_FOUND": 0.25}}})
    flow.scheme(routing={"orange": "orange-bulk"})
    seed(count=12, operator="orange")
    cycle_id = flow.released()
    driven(lambda: True)  # a dispatcher pass: it leaves portal payments alone
    assert _states(db, cycle_id) == {"APPROVED": 12}

    made = flow.api.post(
        f"/v1/cycles/{cycle_id}/bulk-files",
        params={"provider": "orange-bulk"},
        headers=flow.auth("maker", **{"Idempotency-Key": "file-1"}),
    )
    assert made.status_code == 201, made.text
    handed = made.json()
    assert (handed["payments"], handed["amount"], handed["currency"]) == (12, 360_000, "XOF")
    assert _states(db, cycle_id) == {"SUBMITTED": 12}
    again = flow.api.post(
        f"/v1/cycles/{cycle_id}/bulk-files",
        params={"provider": "orange-bulk"},
        headers=flow.auth("maker", **{"Idempotency-Key": "file-1"}),
    )
    assert again.json()["id"] == handed["id"]  # the same request again: the same file, nothing claimed twice
    nothing_left = flow.api.post(f"/v1/cycles/{cycle_id}/bulk-files", headers=flow.auth("maker"))
    assert nothing_left.status_code == 409

    download = flow.api.get(handed["download"], headers=flow.auth("maker"))
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(download.text), delimiter=";"))
    assert lines[0][4] == "Référence partenaire"
    assert len(lines) == 13
    assert {int(line[2]) for line in lines[1:]} == {30_000}
    assert flow.api.get(handed["download"], headers=flow.auth("auditor")).status_code == 403

    uploaded = sim.post(
        "/orange/bulk",
        params={"reference": "FILET-Q1"},
        content=download.content,
        headers={"Content-Type": "text/csv; charset=utf-8"},
    )
    assert uploaded.status_code == 202, uploaded.text
    batch_id = uploaded.json()["batch_id"]
    _completed(sim, batch_id)
    report = sim.get(f"/orange/bulk/{batch_id}/report.csv").content

    imported = flow.api.post(
        "/v1/bulk-reports",
        params={"provider": "orange-bulk"},
        content=report,
        headers=flow.auth("maker", **{"Content-Type": "text/csv"}),
    )
    assert imported.status_code == 200, imported.text
    outcome = imported.json()
    portal = sim.get(f"/orange/bulk/{batch_id}").json()
    assert outcome["payments"] == {
        state: count
        for state, count in (("SUCCEEDED", portal["succeeded"]), ("FAILED", portal["failed"]))
        if count
    }
    assert portal["succeeded"] + portal["failed"] == 12
    assert (outcome["unknown_references"], outcome["conflicts"], outcome["duplicate"]) == ([], 0, False)
    assert _states(db, cycle_id) == outcome["payments"]
    with db.connect() as conn:
        failures = set(
            conn.execute(
                text(
                    "SELECT failure_code FROM \"payments\".payment WHERE cycle_id = :c AND state = 'FAILED'"
                ),
                {"c": cycle_id},
            ).scalars()
        )
    assert failures <= {"RECIPIENT_NOT_FOUND"}

    twice = flow.api.post(
        "/v1/bulk-reports", content=report, headers=flow.auth("maker", **{"Content-Type": "text/csv"})
    )
    assert twice.status_code == 200
    assert twice.json()["duplicate"] is True
    assert twice.json()["payments"] == outcome["payments"]
    assert _states(db, cycle_id) == outcome["payments"]
    for line in lines[1:]:
        ledger = sim.get("/_admin/ledger", params={"reference": line[4]}).json()
        assert ledger["references"][line[4]]["times_paid"] <= 1

    driven(lambda: flow.cycle_view(cycle_id)["state"] == "closed")


def test_reports_and_files_refused_with_a_reason(flow: Flow, seed: Seed, db: Engine) -> None:
    flow.scheme()  # the default routing: every provider has an API
    seed(count=2, operator="orange")
    cycle_id = flow.released()

    not_bulk = flow.api.post(
        f"/v1/cycles/{cycle_id}/bulk-files", params={"provider": "gsma"}, headers=flow.auth("maker")
    )
    assert not_bulk.status_code == 422
    assert "bulk_providers" in not_bulk.json()["error"]["details"]
    unreadable = flow.api.post(
        "/v1/bulk-reports",
        content=b"hello;world\n1;2\n",
        headers=flow.auth("maker", **{"Content-Type": "text/csv"}),
    )
    assert unreadable.status_code == 422
    assert "no payment line" in unreadable.json()["error"]["message"]
    unknown_cycle = flow.api.post(
        "/v1/cycles/00000000-0000-4000-8000-000000000000/bulk-files", headers=flow.auth("maker")
    )
    assert unknown_cycle.status_code == 404
    assert flow.api.post(f"/v1/cycles/{cycle_id}/bulk-files", headers=flow.auth("vendor")).status_code == 403
    assert _states(db, cycle_id) == {"APPROVED": 2}
