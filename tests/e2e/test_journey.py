"""Acceptance across the three services: every process running, talking only through HTTP and the broker."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from filet.journey import (
    Journey,
    ReportedRedemption,
    mint_token,
    vendor_redemption_report,
    voucher_slips,
)
from filet.registry_sample import generate
from filet.stack import Stack

PROGRAMME = "JIGISEMEJIRI"
CADRE_COMMUN = "CADRE_COMMUN"
MONTHLY_VOUCHER = 15_000


@pytest.fixture(scope="module")
def enrolled(journey: Journey, stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """120 households of Kayes registered from an RSU file, enrolled, validated by their community, activated
    three years ago, and a Jigisemejiri scheme of 10,000 a month paid every quarter, 12 cycles."""
    registry = tmp_path_factory.mktemp("rsu") / "rsu.csv"
    generate(400, registry, seed=7, duplicate_percent=3, bad_percent=1)
    journey.import_households(registry)
    journey.create_programme(
        {
            "code": PROGRAMME,
            "name": "Jigisemejiri",
            "zone": [{"region": "Kayes"}, {"region": "Koulikoro"}],
            "duration_months": 36,
            "targeting_method": "pmt",
        }
    )
    journey.enrol(PROGRAMME, filter={"region": "Kayes"})
    journey.move(PROGRAMME, "registered", "target")
    journey.move(
        PROGRAMME,
        "targeted",
        "validate",
        validation={"who": "comité villageois", "when": datetime.now(UTC).isoformat(), "where": "Kita"},
    )
    three_years_ago = datetime.now(UTC) - timedelta(days=3 * 365 + 2)
    active = journey.move(PROGRAMME, "validated", "activate", at=three_years_ago.isoformat())
    journey.define_scheme(
        {
            "programme_code": PROGRAMME,
            "reference_code": "J",
            "first_period": "2026-Q1",
            "modality": "mobile_money",
            "basis": {"kind": "monthly_rate", "monthly_amount": 10_000, "every_months": 3},
            "cycles": 12,
            "routing": {"orange": "gsma", "moov": "mtn", "other": "wave"},
        }
    )
    journey.wait_for_beneficiaries(PROGRAMME, active, timeout=120)
    return {"active": active}


@pytest.fixture(scope="module")
def cycles(journey: Journey, enrolled: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Cycles paid so far in this module, by period (a period is paid once)."""
    return {}


def _paid_cycle(journey: Journey, cycles: dict[str, dict[str, Any]], period: str) -> dict[str, Any]:
    if period not in cycles:
        released = journey.run_cycle(PROGRAMME, period, funding_line="IDA")
        cycles[period] = journey.wait_until_paid(released["id"], timeout=240)
    return cycles[period]


def _payments(journey: Journey, cycle_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    offset = 0
    while True:
        page = journey.call("GET", "payments", f"/v1/cycles/{cycle_id}/payments?limit=500&offset={offset}")
        items += page["items"]
        offset += len(page["items"])
        if not page["items"] or offset >= page["total"]:
            return items


def _ledger(stack: Stack) -> dict[str, Any]:
    return dict(httpx.get(f"{stack.url('simulator')}/_admin/ledger/summary", timeout=10).json())


def test_a_quarter_reconciles_to_exactly_what_the_providers_ledger_paid(
    journey: Journey, stack: Stack, cycles: dict[str, dict[str, Any]]
) -> None:
    released = _paid_cycle(journey, cycles, "2026-Q1")
    payments = _payments(journey, released["id"])
    for dialect in ("gsma", "mtn", "wave"):
        account = httpx.get(f"{stack.url('simulator')}/_admin/config", timeout=10).json()["accounts"][
            dialect
        ]["id"]
        journey.call(
            "POST", "reconciliation", "/v1/accounts", json={"account_id": account, "provider": dialect}
        )
        statement = httpx.get(
            f"{stack.url('simulator')}/_admin/statements/camt053", params={"account": account}
        )
        journey.import_statement(statement.content, content_type="application/xml")
    ledger = _ledger(stack)
    # reconciliation learns the payments' states from events: it may still be applying the last of them
    summary = journey.wait_for_reconciliation(released["id"], released)["total"]

    succeeded = [p for p in payments if p["state"] == "SUCCEEDED"]
    assert {p["amount"] for p in payments} == {30_000}
    assert len(payments) == sum(1 for p in payments if p["payee_msisdn"])
    assert ledger["references"]["paid_more_than_once"] == 0
    assert ledger["by_status"]["succeeded"]["paid"] == sum(p["amount"] for p in succeeded)
    assert summary["settled"]["settled_amount"] == ledger["by_status"]["succeeded"]["paid"]
    assert summary["instructed"]["amount"] == 30_000 * len(payments)


def test_a_household_is_paid_twelve_quarters_of_30000_then_the_scheme_ends_and_the_programme_exits_it(
    journey: Journey, stack: Stack, enrolled: dict[str, Any], cycles: dict[str, dict[str, Any]]
) -> None:
    periods = [f"{year}-Q{quarter}" for year in (2026, 2027, 2028) for quarter in (1, 2, 3, 4)]
    paid: dict[str, int] = {}
    for period in periods:
        released = _paid_cycle(journey, cycles, period)
        for payment in _payments(journey, released["id"]):
            if payment["state"] == "SUCCEEDED":
                paid[payment["household_id"]] = paid.get(payment["household_id"], 0) + payment["amount"]

    thirteenth = journey.call(
        "POST",
        "payments",
        "/v1/cycles",
        json={"programme_code": PROGRAMME, "period": "2029-Q1", "funding_line": "IDA"},
        expect=(409, 422),
    )
    swept = journey.call("POST", "enrolment", "/v1/enrolments/sweeps")

    assert paid
    assert set(paid.values()) == {360_000}
    assert thirteenth["error"]["code"] in ("conflict", "invalid_input")
    assert swept["exited"] == enrolled["active"]
    assert _ledger(stack)["references"]["paid_more_than_once"] == 0


@pytest.fixture(scope="module")
def vouchers(journey: Journey, stack: Stack, enrolled: dict[str, Any]) -> dict[str, Any]:
    """The cadre commun over the north's very poor and poor households (the module's RSU file), a voucher
    scheme of 15,000 a month paid every quarter, and its first cycle released: one voucher per household,
    counted by reconciliation; two shops registered for the programme, each with its vendor token."""
    journey.create_programme(
        {
            "code": CADRE_COMMUN,
            "name": "Cadre commun",
            "zone": [{"region": "Gao"}, {"region": "Tombouctou"}],
            "duration_months": 12,
            "targeting_method": "hea",
        }
    )
    for region in ("Gao", "Tombouctou"):
        journey.enrol(CADRE_COMMUN, filter={"region": region, "hea_categories": ["very_poor", "poor"]})
    active = journey.validate_and_activate(CADRE_COMMUN, who="comité de ciblage", where="Gao")
    journey.define_scheme(
        {
            "programme_code": CADRE_COMMUN,
            "reference_code": "CC",
            "first_period": "2026-Q1",
            "modality": "voucher",
            "basis": {"kind": "monthly_rate", "monthly_amount": MONTHLY_VOUCHER, "every_months": 3},
            "cycles": 4,
        }
    )
    journey.wait_for_beneficiaries(CADRE_COMMUN, active, timeout=120)
    released = journey.run_cycle(CADRE_COMMUN, "2026-Q1", funding_line="ECHO")
    slips = voucher_slips(journey, released["id"])
    journey.wait_for_vouchers(released["id"], issued=len(slips), timeout=60)
    for vendor in ("BOUTIQUE-GAO-01", "MAGASIN-TOMBOUCTOU-01"):
        journey.register_vendor(vendor, name=vendor.title(), programmes=[CADRE_COMMUN])
        journey.tokens[vendor] = mint_token(stack.database_url, name=vendor.title(), role=f"vendor:{vendor}")
    return {"cycle_id": released["id"], "active": active, "codes": [slip.code for slip in slips]}


def test_vouchers_redeemed_at_shops_are_matched_against_a_vendors_report_in_the_cycle_summary(
    journey: Journey, vouchers: dict[str, Any]
) -> None:
    cycle_id, codes = vouchers["cycle_id"], vouchers["codes"]
    face = MONTHLY_VOUCHER * 3
    at_gao = journey.redeem_vouchers(codes[:4], vendor="BOUTIQUE-GAO-01")
    journey.redeem_vouchers(codes[4:5], vendor="MAGASIN-TOMBOUCTOU-01")
    journey.wait_for_vouchers(cycle_id, issued=len(codes), redeemed=5, timeout=60)
    lines = [
        ReportedRedemption(v["code"], v["amount"], datetime.fromisoformat(v["redeemed_at"]), f"R-{n}")
        for n, v in enumerate(at_gao[:3], start=1)  # the fourth voucher redeemed at Gao is left out
    ]
    lines[2] = replace(lines[2], amount=face + 9_000)  # 45 000 typed as 54 000

    imported = journey.import_redemption_report(vendor_redemption_report("BOUTIQUE-GAO-01", lines))
    summary = journey.reconciliation(cycle_id)["vouchers"]
    found = sorted((d["category"], d["amount_at_stake"]) for d in journey.discrepancies(cycle_id))

    assert len(codes) == vouchers["active"] >= 5
    assert imported["outcomes"] == {"MATCHED": 2, "AMOUNT_MISMATCH": 1}
    assert summary == {
        "issued": {"count": len(codes), "amount": face * len(codes)},
        "redeemed": {"count": 5, "amount": 5 * face},
        "expired": {"count": 0, "amount": 0},
        "reported": {"count": 3, "amount": 3 * face + 9_000},
        "report_matched": {"count": 2, "amount": 2 * face},
        "report_differs": {"count": 1, "amount": face},
        "missing_from_reports": {"count": 1, "amount": face},
        "awaiting_report": {"count": 1, "amount": face},
    }
    assert found == [("AMOUNT_MISMATCH", 9_000), ("MISSING_FROM_SETTLEMENT", face)]
