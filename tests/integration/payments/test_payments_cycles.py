"""Schemes, cycles, entitlements and maker-checker through the payments API, on the real database."""

from __future__ import annotations

from typing import Any

import pytest

Flow = Any
Seed = Any


def test_a_jigisemejiri_scheme_pays_thirty_thousand_francs_a_quarter(flow: Flow, seed: Seed) -> None:
    assert flow.scheme().status_code == 201
    seed(count=3)

    cycle = flow.cycle().json()

    assert cycle["state"] == "draft"
    assert cycle["summary"]["total"] == {"count": 3, "amount": 90_000}
    assert cycle["summary"]["by_provider"] == {"gsma": {"count": 3, "amount": 90_000}}
    assert cycle["summary"]["by_region"]["Kayes"]["count"] == 3


def test_a_cadre_commun_scheme_pays_its_yearly_amount_in_tranches_with_a_size_supplement(
    flow: Flow, seed: Seed
) -> None:
    answer = flow.scheme(
        programme_code="CADRE",
        reference_code="CC",
        first_period="2026-S1",
        basis={"kind": "yearly_tranches", "yearly_amount": 100_000, "tranches": 2},
        cycles=2,
        size_supplement={"per_member": 2_000, "cap": 60_000},
    )
    assert answer.status_code == 201, answer.text
    seed("CADRE", 1, size=3)
    seed("CADRE", 1, size=8)

    cycle = flow.cycle("CADRE", "2026-S1").json()

    assert sorted(cycle["summary"]["by_state"]) == ["ENTITLED"]
    assert cycle["summary"]["total"]["amount"] == (50_000 + 6_000) + 60_000


def test_a_cycle_for_a_programme_without_a_scheme_is_refused_with_422(flow: Flow, seed: Seed) -> None:
    seed(count=1)

    answer = flow.cycle()

    assert answer.status_code == 422
    assert "no transfer scheme" in answer.json()["error"]["message"]


def test_a_period_already_paid_is_refused_with_409(flow: Flow, seed: Seed) -> None:
    flow.scheme()
    seed(count=1)
    flow.released()

    answer = flow.cycle()

    assert answer.status_code == 409


@pytest.mark.parametrize(
    "basis",
    [
        {"kind": "monthly_rate", "monthly_amount": -10_000, "every_months": 3},
        {"kind": "monthly_rate", "monthly_amount": 10_000.5, "every_months": 3},
        {"kind": "monthly_rate", "monthly_amount": "10000", "every_months": 3},
    ],
)
def test_a_negative_or_non_integer_amount_is_refused_with_422(flow: Flow, basis: dict[str, Any]) -> None:
    answer = flow.scheme(basis=basis)

    assert answer.status_code == 422
    assert answer.json()["error"]["details"]


def test_a_top_up_of_zero_or_a_fraction_is_refused_with_422(flow: Flow, seed: Seed) -> None:
    flow.scheme()
    seed(count=1)
    cycle_id = flow.cycle().json()["id"]

    for body in (
        {"area": {"regions": ["Kayes"]}, "fixed_amount": 0},
        {"area": {"regions": ["Kayes"]}, "fixed_amount": 1.5},
    ):
        answer = flow.api.post(f"/v1/cycles/{cycle_id}/top-ups", json=body, headers=flow.auth("maker"))
        assert answer.status_code == 422


def test_an_approver_who_created_the_cycle_may_not_approve_it_and_is_told_why(
    flow: Flow, seed: Seed, approver_named: Any
) -> None:
    flow.scheme()
    seed(count=1)
    cycle_id = flow.cycle().json()["id"]
    flow.decide(cycle_id, "submission", "maker-2")

    answer = flow.api.post(
        f"/v1/cycles/{cycle_id}/approval", headers={"Authorization": f"Bearer {approver_named('maker')}"}
    )

    assert answer.status_code == 403
    assert "maker created this cycle" in answer.json()["error"]["message"]


def test_an_approver_who_submitted_the_cycle_may_not_approve_it(
    flow: Flow, seed: Seed, approver_named: Any
) -> None:
    flow.scheme()
    seed(count=1)
    cycle_id = flow.cycle().json()["id"]
    flow.decide(cycle_id, "submission", "maker-2")

    answer = flow.api.post(
        f"/v1/cycles/{cycle_id}/approval", headers={"Authorization": f"Bearer {approver_named('maker-2')}"}
    )

    assert answer.status_code == 403
    assert "maker-2 submitted this cycle" in answer.json()["error"]["message"]
    assert answer.json()["error"]["details"]["submitted_by"] == "maker-2"


def test_an_operator_cannot_approve_at_all(flow: Flow, seed: Seed) -> None:
    flow.scheme()
    seed(count=1)
    cycle_id = flow.cycle().json()["id"]
    flow.decide(cycle_id, "submission", "maker")

    assert flow.decide(cycle_id, "approval", "maker-2").status_code == 403


def test_approving_a_cycle_that_was_not_submitted_is_a_conflict(flow: Flow, seed: Seed) -> None:
    flow.scheme()
    seed(count=1)
    cycle_id = flow.cycle().json()["id"]

    answer = flow.decide(cycle_id, "approval", "checker")

    assert answer.status_code == 409
    assert answer.json()["error"]["details"]["allowed_from"] == ["submitted"]


def test_releasing_an_unapproved_cycle_is_a_conflict(flow: Flow, seed: Seed) -> None:
    flow.scheme()
    seed(count=1)
    cycle_id = flow.cycle().json()["id"]
    flow.decide(cycle_id, "submission", "maker")

    assert flow.decide(cycle_id, "release", "maker").status_code == 409


def test_a_second_release_answers_without_creating_a_second_payment(flow: Flow, seed: Seed) -> None:
    flow.scheme()
    seed(count=2)
    cycle_id = flow.released()

    again = flow.decide(cycle_id, "release", "maker")

    assert again.status_code == 200
    payments = flow.api.get(f"/v1/cycles/{cycle_id}/payments", headers=flow.auth("auditor")).json()
    assert payments["total"] == 2


def test_a_cycle_is_cancelled_before_release_but_not_after(flow: Flow, seed: Seed) -> None:
    flow.scheme()
    seed(count=1)
    draft = flow.cycle().json()["id"]

    assert flow.decide(draft, "cancellation", "maker", reason="wrong period").json()["state"] == "cancelled"
    released = flow.released()
    assert flow.decide(released, "cancellation", "maker", reason="too late").status_code == 409


def test_a_top_up_raises_the_area_apart_from_the_base_and_a_multiplier_never_compounds(
    flow: Flow, seed: Seed
) -> None:
    flow.scheme()
    seed(count=2, region="Ségou", commune="Markala")
    seed(count=1, region="Kayes", commune="Kita")
    cycle_id = flow.cycle().json()["id"]

    fixed = flow.api.post(
        f"/v1/cycles/{cycle_id}/top-ups",
        json={"area": {"regions": ["SEGOU"]}, "fixed_amount": 5_000},
        headers=flow.auth("maker"),
    )
    multiplied = flow.api.post(
        f"/v1/cycles/{cycle_id}/top-ups",
        json={"area": {"communes": ["markala"]}, "multiplier_percent": 150},
        headers=flow.auth("maker"),
    )

    assert fixed.json()["households"] == 2
    assert multiplied.json()["amount"] == 2 * 15_000
    assert flow.cycle_view(cycle_id)["summary"]["total"]["amount"] == 3 * 30_000 + 2 * (5_000 + 15_000)


def test_a_piggyback_cycle_pays_the_source_programmes_households_from_its_own_funding_line(
    flow: Flow, seed: Seed
) -> None:
    flow.scheme()
    flow.scheme(
        programme_code="ECHO",
        reference_code="E",
        basis={"kind": "monthly_rate", "monthly_amount": 5_000, "every_months": 3},
    )
    seed("JIGI", 2)

    cycle = flow.cycle("ECHO", piggyback_of="JIGI", funding_line="ECHO-2026").json()

    assert cycle["piggyback_of"] == "JIGI"
    assert cycle["funding_line"] == "ECHO-2026"
    assert cycle["summary"]["total"] == {"count": 2, "amount": 30_000}


def test_households_in_two_programmes_are_flagged_by_default_and_blocked_by_policy(
    flow: Flow, seed: Seed
) -> None:
    flow.scheme()
    flow.scheme(programme_code="CSA", reference_code="C")
    both = seed("JIGI", 2)
    seed("CSA", household_ids=both[:1])
    flagged = flow.cycle().json()
    assert flagged["summary"]["flags"] == {"overlap:CSA:flag": 1}
    assert flagged["summary"]["total"]["count"] == 2

    flow.api.post(
        "/v1/cross-programme-policies",
        json={"programme_code": "CSA", "other_code": "JIGI", "action": "block"},
        headers=flow.auth("maker"),
    )
    blocked = flow.cycle("CSA").json()

    assert blocked["summary"]["by_state"] == {"BLOCKED": {"count": 1, "amount": 30_000}}


def test_a_refocused_cycle_keeps_only_the_lowest_pmt_scores(flow: Flow, seed: Seed) -> None:
    flow.scheme()
    seed(count=2, pmt_score=1_500)
    seed(count=3, pmt_score=4_000)

    cycle = flow.cycle(refocus={"method": "PMT", "max_score": 2_000}).json()

    assert cycle["summary"]["total"]["count"] == 2
