"""Definitive failures re-issued by a later cycle (as a voucher or by mobile money), each exactly once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

Flow = Any
Seed = Any
FINAL = {"SUCCEEDED", "FAILED", "REJECTED"}


def _payments(db: Engine, cycle_id: str) -> list[dict[str, Any]]:
    with db.connect() as conn:
        rows = conn.execute(
            text('SELECT * FROM "payments".payment WHERE cycle_id = :c ORDER BY reference'), {"c": cycle_id}
        ).mappings()
        return [dict(row) for row in rows]


def _approved_and_released(flow: Flow, cycle_id: str) -> None:
    assert flow.decide(cycle_id, "submission", "maker").status_code == 200
    assert flow.decide(cycle_id, "approval", "checker").status_code == 200
    assert flow.decide(cycle_id, "release", "maker").status_code == 202


@pytest.fixture
def failed_cycle(
    flow: Flow,
    seed: Seed,
    sim: httpx.Client,
    driven: Callable[..., None],
    states: Callable[[str], dict[str, int]],
) -> str:
    """A released 2026-Q1 cycle whose two MTN payments failed for RECIPIENT_NOT_FOUND."""
    sim.patch("/_admin/behaviour", json={"mtn": {"failures": {"RECIPIENT_NOT_FOUND": 1.0}}})
    flow.scheme()
    seed(count=2, operator="moov")
    cycle_id: str = flow.released()
    driven(lambda: sum(n for s, n in states(cycle_id).items() if s in FINAL) == 2)
    assert states(cycle_id) == {"FAILED": 2}
    return cycle_id


def test_a_recipient_not_found_is_reissued_next_cycle_as_a_voucher_that_a_vendor_redeems(
    flow: Flow, failed_cycle: str, db: Engine
) -> None:
    failed = {row["id"]: row for row in _payments(db, failed_cycle) if row["state"] == "FAILED"}
    flow.api.post(
        "/v1/vendors",
        json={"vendor_id": "v1", "name": "Boutique Kita", "programme_codes": ["JIGI"]},
        headers=flow.auth("maker"),
    )

    created = flow.cycle(period="2026-Q2", reissue_failed=True, reissue_as="voucher")

    assert created.status_code == 201, created.text
    preview = created.json()["summary"]
    assert preview["reissues"] == {"count": 2, "amount": 60_000}
    assert preview["flags"]["reissue:RECIPIENT_NOT_FOUND"] == 2
    assert preview["by_modality"]["voucher"] == {"count": 2, "amount": 60_000}
    cycle_id = str(created.json()["id"])
    _approved_and_released(flow, cycle_id)

    reissues = [row for row in _payments(db, cycle_id) if row["reissue_of"] is not None]
    assert {row["reissue_of"] for row in reissues} == set(failed)
    for row in reissues:
        original = failed[row["reissue_of"]]
        assert (row["modality"], row["state"], row["amount"]) == ("voucher", "SUBMITTED", original["amount"])
        assert row["reference"] == original["reference"] + "B"
        assert row["attempt_no"] == 2
        assert row["provider_request_key"] != original["provider_request_key"]
    with db.connect() as conn:
        code = conn.execute(
            text('SELECT code FROM "payments".voucher WHERE payment_id = :p'), {"p": reissues[0]["id"]}
        ).scalar_one()
    redeemed = flow.api.post(
        f"/v1/vouchers/{code}/redemptions", json={"amount": 30_000}, headers=flow.auth("vendor")
    )
    assert redeemed.status_code == 201, redeemed.text
    assert redeemed.json()["state"] == "REDEEMED"
    paid = flow.api.get(f"/v1/payments/{reissues[0]['id']}", headers=flow.auth("auditor")).json()
    assert paid["state"] == "SUCCEEDED"


def test_a_failed_payment_is_reissued_only_once_even_if_asked_again(
    flow: Flow, failed_cycle: str, db: Engine
) -> None:
    second = flow.cycle(period="2026-Q2", reissue_failed=True, reissue_as="voucher")
    assert second.json()["summary"]["reissues"]["count"] == 2
    _approved_and_released(flow, str(second.json()["id"]))

    third = flow.cycle(period="2026-Q3", reissue_failed=True, reissue_as="voucher")

    assert third.status_code == 201, third.text
    assert third.json()["summary"]["reissues"] == {"count": 0, "amount": 0}
    with db.connect() as conn:
        reissued = conn.execute(
            text(
                'SELECT count(*), count(DISTINCT reissue_of) FROM "payments".payment WHERE reissue_of IS NOT NULL'
            )
        ).one()
    assert tuple(reissued) == (2, 2)


def test_a_reissue_in_a_cancelled_cycle_can_be_asked_for_again(flow: Flow, failed_cycle: str) -> None:
    cancelled = str(flow.cycle(period="2026-Q2", reissue_failed=True).json()["id"])
    assert flow.decide(cancelled, "cancellation", "maker", reason="wrong funding line").status_code == 200

    again = flow.cycle(period="2026-Q2", reissue_failed=True)

    assert again.json()["summary"]["reissues"]["count"] == 2


def test_a_reissue_by_mobile_money_is_a_new_attempt_with_a_new_key_sent_by_the_dispatcher(
    flow: Flow, failed_cycle: str, db: Engine, sim: httpx.Client, driven: Callable[..., None]
) -> None:
    sim.patch("/_admin/behaviour", json={"mtn": {"failures": {"RECIPIENT_NOT_FOUND": 0.0}}})
    created = flow.cycle(period="2026-Q2", reissue_failed=True, reissue_as="mobile_money")
    cycle_id = str(created.json()["id"])
    _approved_and_released(flow, cycle_id)

    def reissues() -> list[dict[str, Any]]:
        return [row for row in _payments(db, cycle_id) if row["reissue_of"] is not None]

    driven(lambda: all(row["state"] == "SUCCEEDED" for row in reissues()))

    assert {(row["modality"], row["provider"], row["attempt_no"]) for row in reissues()} == {
        ("mobile_money", "mtn", 2)
    }
    for row in reissues():
        ledger = sim.get("/_admin/ledger", params={"reference": row["reference"]}).json()
        assert ledger["references"][row["reference"]]["times_paid"] == 1
    # Each re-issue is paid through its own line of the new cycle, so the cycle's view counts it there.
    with db.connect() as conn:
        lines = conn.execute(
            text(
                'SELECT id, reissue_of FROM "payments".entitlement WHERE cycle_id = :c AND reissue_of IS NOT NULL'
            ),
            {"c": cycle_id},
        ).all()
    assert {(row["entitlement_id"], row["reissue_of"]) for row in reissues()} == {
        tuple(line) for line in lines
    }
    # (the households' own lines of the quarter, and the two re-issues)
    assert flow.cycle_view(cycle_id)["summary"]["by_state"] == {"SUCCEEDED": {"count": 4, "amount": 120_000}}


def test_reissue_as_without_reissue_failed_is_refused(flow: Flow) -> None:
    flow.scheme()

    answer = flow.cycle(period="2026-Q2", reissue_as="voucher")

    assert answer.status_code == 422
