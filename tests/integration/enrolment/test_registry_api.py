"""Programmes and households through the API: validated by the domain, searchable, changes published."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from shared.events.contracts import HouseholdRegistered, PaymentDetailsChanged

Count = Callable[[str], int]
Headers = Callable[[str], dict[str, str]]

Events = Callable[[str], list[dict[str, Any]]]

JIGI = {
    "code": "JIGISEMEJIRI",
    "name": "Jigisemejiri",
    "zone": [{"region": "Kayes"}, {"region": "Sikasso", "cercle": "Koutiala"}],
    "duration_months": 36,
    "targeting_method": "pmt",
}


def household(rsu_id: str = "RSU-KY-000001", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "rsu_id": rsu_id,
        "head_name": "Aminata Traoré",
        "head_sex": "F",
        "head_birth_year": 1975,
        "size": 6,
        "region": "KAYES",
        "cercle": "kita",
        "commune": "Kita",
        "village": "Sirakoro",
        "msisdn": "76 12 34 01",
    }
    body.update(overrides)
    return body


def test_a_programme_is_created_then_read_back_and_listed(client: TestClient, as_role: Headers) -> None:
    created = client.post("/v1/programmes", json=JIGI, headers=as_role("operator"))

    assert created.status_code == 201
    assert created.json()["enrolled"] == 0
    read = client.get("/v1/programmes/JIGISEMEJIRI", headers=as_role("auditor")).json()
    assert read["zone"] == [
        {"region": "Kayes", "cercle": None, "commune": None},
        {"region": "Sikasso", "cercle": "Koutiala", "commune": None},
    ]
    assert [p["code"] for p in client.get("/v1/programmes", headers=as_role("auditor")).json()] == [
        "JIGISEMEJIRI"
    ]


def test_a_programme_code_taken_already_is_a_409(client: TestClient, as_role: Headers) -> None:
    client.post("/v1/programmes", json=JIGI, headers=as_role("operator"))

    assert client.post("/v1/programmes", json=JIGI, headers=as_role("admin")).status_code == 409


def test_a_programme_zone_outside_the_reference_list_is_a_422(client: TestClient, as_role: Headers) -> None:
    answer = client.post(
        "/v1/programmes",
        json={**JIGI, "zone": [{"region": "Kayes", "cercle": "Gao"}]},
        headers=as_role("operator"),
    )

    assert answer.status_code == 422


def test_an_unknown_programme_is_a_404(client: TestClient, as_role: Headers) -> None:
    assert client.get("/v1/programmes/NOPE", headers=as_role("auditor")).status_code == 404


def test_a_household_is_stored_with_official_place_names_and_an_e164_number_of_its_operator(
    client: TestClient, as_role: Headers, events: Events
) -> None:
    answer = client.post("/v1/households", json=household(), headers=as_role("operator"))

    assert answer.status_code == 201
    stored = answer.json()
    assert (stored["region"], stored["cercle"]) == ("Kayes", "Kita")
    assert (stored["msisdn"], stored["operator"]) == ("+22376123401", "orange")
    [event] = [HouseholdRegistered.model_validate(data) for data in events("household.registered")]
    assert (str(event.household_id), event.msisdn, event.operator) == (stored["id"], "+22376123401", "orange")


def test_a_cercle_of_another_region_is_refused_with_its_region(client: TestClient, as_role: Headers) -> None:
    answer = client.post("/v1/households", json=household(cercle="Gao"), headers=as_role("operator"))

    assert answer.status_code == 422
    assert answer.json()["error"]["details"][0]["field"] == "body.cercle"
    assert "is in region Gao" in answer.json()["error"]["details"][0]["reason"]


def test_an_operator_that_disagrees_with_the_number_is_refused(client: TestClient, as_role: Headers) -> None:
    answer = client.post("/v1/households", json=household(operator="moov"), headers=as_role("operator"))

    assert answer.status_code == 422
    assert "is a orange number, not moov" in answer.text


def test_households_are_searched_by_region_and_commune_page_by_page(
    client: TestClient, as_role: Headers
) -> None:
    for n in range(5):
        client.post(
            "/v1/households",
            json=household(f"RSU-{n}", msisdn=f"+2237600000{n}", village=f"V{n}"),
            headers=as_role("operator"),
        )
    client.post(
        "/v1/households",
        json=household("RSU-GAO", region="Gao", cercle="Gao", commune="Gao", msisdn="+22366000009"),
        headers=as_role("operator"),
    )

    first = client.get("/v1/households?region=kayes&commune=kita&limit=3", headers=as_role("auditor")).json()
    second = client.get(first["links"]["next"], headers=as_role("auditor")).json()

    assert len(first["items"]) == 3
    assert len(second["items"]) == 2
    assert second["links"]["next"] is None
    assert {h["region"] for h in first["items"] + second["items"]} == {"Kayes"}


def test_a_new_phone_number_is_published_and_kept_in_the_payment_details_history(
    client: TestClient, as_role: Headers, events: Events, count: Count
) -> None:
    household_id = client.post("/v1/households", json=household(), headers=as_role("operator")).json()["id"]

    answer = client.patch(
        f"/v1/households/{household_id}",
        json={"msisdn": "66 55 44 33", "effective_from": "2026-04-01"},
        headers=as_role("operator"),
    )

    assert answer.status_code == 200
    assert (answer.json()["msisdn"], answer.json()["operator"]) == ("+22366554433", "moov")
    [change] = [
        PaymentDetailsChanged.model_validate(data) for data in events("household.payment_details_changed")
    ]
    assert (change.previous_msisdn, change.msisdn, str(change.effective_from)) == (
        "+22376123401",
        "+22366554433",
        "2026-04-01",
    )
    assert len(events("household.updated")) == 1
    assert count("SELECT count(*) FROM enrolment.payment_details") == 2


def test_every_write_records_an_audit_event_with_before_and_after(
    client: TestClient, as_role: Headers, events: Events
) -> None:
    household_id = client.post("/v1/households", json=household(), headers=as_role("operator")).json()["id"]
    client.patch(f"/v1/households/{household_id}", json={"size": 7}, headers=as_role("admin"))

    audits = events("audit.recorded")
    assert [a["action"] for a in audits] == ["household.register", "household.change"]
    assert (audits[1]["before"]["size"], audits[1]["after"]["size"], audits[1]["actor"]) == (
        6,
        7,
        "admin-user",
    )
