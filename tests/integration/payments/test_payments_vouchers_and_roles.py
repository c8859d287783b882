"""Vouchers redeemed exactly once by registered vendors; every route refuses the roles it does not admit."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Engine, text

Flow = Any
Seed = Any


@pytest.fixture
def voucher(flow: Flow, seed: Seed, db: Engine) -> str:
    flow.scheme(modality="voucher", routing=None)
    seed(count=1)
    flow.api.post(
        "/v1/vendors",
        json={"vendor_id": "v1", "name": "Boutique Kita", "programme_codes": ["JIGI"]},
        headers=flow.auth("maker"),
    )
    flow.released()
    with db.connect() as conn:
        return str(conn.execute(text('SELECT code FROM "payments".voucher')).scalar_one())


def test_a_voucher_is_issued_at_release_and_looked_up_by_its_vendor(flow: Flow, voucher: str) -> None:
    answer = flow.api.get(f"/v1/vouchers/{voucher}", headers=flow.auth("vendor"))

    assert answer.status_code == 200
    assert (answer.json()["state"], answer.json()["amount"]) == ("ISSUED", 30_000)


def test_two_concurrent_redemptions_of_one_voucher_let_exactly_one_win(
    flow: Flow, voucher: str, db: Engine
) -> None:
    def redeem(_: int) -> int:
        answer = flow.api.post(
            f"/v1/vouchers/{voucher}/redemptions", json={"amount": 30_000}, headers=flow.auth("vendor")
        )
        return int(answer.status_code)

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = sorted(pool.map(redeem, range(6)))

    assert outcomes == [201, 409, 409, 409, 409, 409]
    with db.connect() as conn:
        assert conn.execute(text('SELECT count(*) FROM "payments".voucher_redemption')).scalar_one() == 1
        assert conn.execute(text('SELECT state FROM "payments".payment')).scalar_one() == "SUCCEEDED"


def test_an_expired_voucher_cannot_be_redeemed(flow: Flow, voucher: str, db: Engine) -> None:
    with db.begin() as conn:
        conn.execute(text("UPDATE \"payments\".voucher SET expires_at = now() - interval '1 day'"))

    answer = flow.api.post(
        f"/v1/vouchers/{voucher}/redemptions", json={"amount": 30_000}, headers=flow.auth("vendor")
    )

    assert answer.status_code == 409
    assert "expired" in answer.json()["error"]["message"]


def test_a_partial_redemption_is_refused(flow: Flow, voucher: str) -> None:
    answer = flow.api.post(
        f"/v1/vouchers/{voucher}/redemptions", json={"amount": 10_000}, headers=flow.auth("vendor")
    )

    assert answer.status_code == 422


def test_operators_get_the_cycles_voucher_distribution_list_and_auditors_see_only_last_digits(
    flow: Flow, voucher: str, db: Engine
) -> None:
    with db.connect() as conn:
        cycle_id, reference, household = conn.execute(
            text('SELECT p.cycle_id, p.reference, p.household_id FROM "payments".payment p')
        ).one()
    listed = flow.api.get(f"/v1/cycles/{cycle_id}/vouchers", headers=flow.auth("maker"))
    assert listed.status_code == 200, listed.text
    page = listed.json()
    assert (page["total"], len(page["items"])) == (1, 1)
    slip = page["items"][0]
    assert (slip["code"], slip["reference"], slip["household_id"]) == (voucher, reference, str(household))
    assert (slip["amount"], slip["state"], slip["redeemed_by"]) == (30_000, "ISSUED", None)
    assert slip["msisdn"].startswith("+223")

    redeemed = flow.api.post(
        f"/v1/vouchers/{voucher}/redemptions", json={"amount": 30_000}, headers=flow.auth("vendor")
    )
    assert redeemed.status_code == 201
    audited = flow.api.get(
        f"/v1/cycles/{cycle_id}/vouchers", params={"state": "redeemed"}, headers=flow.auth("auditor")
    ).json()["items"][0]
    assert audited["code"] == "•" * 12 + voucher[-4:]
    assert audited["msisdn"] == "•" * (len(slip["msisdn"]) - 4) + slip["msisdn"][-4:]
    assert (audited["state"], audited["redeemed_by"]) == ("REDEEMED", "v1")
    issued = flow.api.get(
        f"/v1/cycles/{cycle_id}/vouchers", params={"state": "issued"}, headers=flow.auth("maker")
    ).json()
    assert issued["total"] == 0
    missing = flow.api.get(f"/v1/cycles/{uuid.uuid4()}/vouchers", headers=flow.auth("maker"))
    assert missing.status_code == 404


CYCLE = str(uuid.uuid4())
ROUTES: list[tuple[str, str, set[str]]] = [
    ("POST", "/v1/schemes", {"maker", "admin"}),
    ("GET", "/v1/schemes", {"maker", "checker", "auditor", "admin"}),
    ("POST", "/v1/cycles", {"maker", "admin"}),
    ("GET", f"/v1/cycles/{CYCLE}", {"maker", "checker", "auditor", "admin"}),
    ("GET", f"/v1/cycles/{CYCLE}/progress", {"maker", "checker", "auditor", "admin"}),
    ("POST", f"/v1/cycles/{CYCLE}/top-ups", {"maker", "admin"}),
    ("POST", f"/v1/cycles/{CYCLE}/submission", {"maker", "admin"}),
    ("POST", f"/v1/cycles/{CYCLE}/approval", {"checker"}),
    ("POST", f"/v1/cycles/{CYCLE}/release", {"maker", "checker", "admin"}),
    ("POST", f"/v1/cycles/{CYCLE}/cancellation", {"maker", "checker", "admin"}),
    ("GET", f"/v1/cycles/{CYCLE}/payments", {"maker", "checker", "auditor", "admin"}),
    ("GET", f"/v1/payments/{CYCLE}", {"maker", "checker", "auditor", "admin"}),
    ("GET", f"/v1/cycles/{CYCLE}/vouchers", {"maker", "checker", "auditor", "admin"}),
    ("POST", f"/v1/cycles/{CYCLE}/bulk-files", {"maker", "admin"}),
    ("GET", f"/v1/bulk-files/{CYCLE}", {"maker", "admin"}),
    ("POST", "/v1/bulk-reports", {"maker", "admin"}),
    ("GET", "/v1/callbacks/unmatched", {"maker", "checker", "auditor", "admin"}),
    ("POST", "/v1/cross-programme-policies", {"maker", "admin"}),
    ("POST", "/v1/vendors", {"maker", "admin"}),
    ("GET", "/v1/vouchers/0000-0000-0000-0000", {"maker", "auditor", "admin", "vendor"}),
    ("POST", "/v1/vouchers/0000-0000-0000-0000/redemptions", {"vendor"}),
]
USERS = ["maker", "checker", "auditor", "admin", "vendor", "provider"]


@pytest.mark.parametrize(("method", "path", "allowed"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_every_route_admits_its_roles_and_refuses_the_others_with_403(
    flow: Flow, method: str, path: str, allowed: set[str]
) -> None:
    assert flow.api.request(method, path).status_code == 401
    for user in USERS:
        status = flow.api.request(method, path, headers=flow.auth(user)).status_code
        if user in allowed:
            assert status != 403, (user, status)
        else:
            assert status == 403, (user, status)


def _expire_all(db: Engine) -> None:
    with db.begin() as conn:
        conn.execute(text("UPDATE \"payments\".voucher SET expires_at = now() - interval '1 second'"))


def test_housekeeping_expires_a_voucher_past_its_expiry_and_fails_its_payment(
    flow: Flow, voucher: str, db: Engine, dispatcher: Any
) -> None:
    _expire_all(db)

    dispatcher.housekeeping()

    view = flow.api.get(f"/v1/vouchers/{voucher}", headers=flow.auth("vendor")).json()
    assert view["state"] == "EXPIRED"
    with db.connect() as conn:
        payment = conn.execute(text('SELECT state, failure_code FROM "payments".payment')).one()
        published = conn.execute(
            text("SELECT payload FROM \"payments\".outbox WHERE type = 'vouchers.expired'")
        ).scalars()
        expired = [
            item for payload in published for item in json.loads(bytes(payload))["data"]["voucher_ids"]
        ]
        cycle = conn.execute(text('SELECT state FROM "payments".cycle')).scalar_one()
    assert tuple(payment) == ("FAILED", "EXPIRED")
    assert len(expired) == 1
    assert cycle == "closed"


def test_a_voucher_not_yet_expired_is_left_issued(flow: Flow, voucher: str, dispatcher: Any) -> None:
    dispatcher.housekeeping()

    view = flow.api.get(f"/v1/vouchers/{voucher}", headers=flow.auth("vendor")).json()
    assert view["state"] == "ISSUED"


def test_an_expired_voucher_stays_refused_after_the_expiry_job(
    flow: Flow, voucher: str, db: Engine, dispatcher: Any
) -> None:
    _expire_all(db)
    dispatcher.housekeeping()

    answer = flow.api.post(
        f"/v1/vouchers/{voucher}/redemptions", json={"amount": 30_000}, headers=flow.auth("vendor")
    )

    assert answer.status_code == 409
    assert answer.json()["error"]["details"]["state"] == "EXPIRED"
