"""Enrolments through the API: by list or filter, within zone and capacity, moved by the lifecycle's rules."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from enrolment.consumer import HANDLERS
from enrolment.service import ENROLMENT
from shared.consumer import Delivery, Inbox
from shared.events import encode, new_envelope
from shared.events.contracts import CycleReleased, EnrolmentsActivated, EnrolmentsChanged, EnrolmentsExited
from shared.settings import Settings

Count = Callable[[str], int]
Headers = Callable[[str], dict[str, str]]

Events = Callable[[str], list[dict[str, Any]]]
Register = Callable[..., str]


def programme(code: str = "JIGISEMEJIRI", **overrides: Any) -> dict[str, Any]:
    return {
        "code": code,
        "name": code.title(),
        "zone": [{"region": "Kayes"}],
        "duration_months": 36,
        "targeting_method": "pmt",
        **overrides,
    }


@pytest.fixture
def register(client: TestClient, as_role: Headers) -> Register:
    numbers = iter(range(1, 10_000))

    def post(region: str = "Kayes", cercle: str = "Kita", commune: str = "Kita", **extra: Any) -> str:
        n = next(numbers)
        body = {
            "rsu_id": f"RSU-L-{n}",
            "head_name": f"Chef {n}",
            "size": 4,
            "region": region,
            "cercle": cercle,
            "commune": commune,
            "msisdn": f"+2237{n:07d}",
            **extra,
        }
        answer = client.post("/v1/households", json=body, headers=as_role("operator"))
        assert answer.status_code == 201, answer.text
        household_id: str = answer.json()["id"]
        return household_id

    return post


@pytest.fixture
def jigi(client: TestClient, as_role: Headers) -> str:
    assert client.post("/v1/programmes", json=programme(), headers=as_role("operator")).status_code == 201
    return "JIGISEMEJIRI"


def enrol(client: TestClient, as_role: Headers, **body: Any) -> Any:
    return client.post("/v1/enrolments", json=body, headers=as_role("operator"))


def move(client: TestClient, as_role: Headers, enrolment_id: str, **body: Any) -> Any:
    return client.post(f"/v1/enrolments/{enrolment_id}/transitions", json=body, headers=as_role("operator"))


VALIDATION = {"who": "comité villageois de Sirakoro", "when": "2026-02-01T10:00:00Z", "where": "Sirakoro"}


def test_households_enrolled_by_list_start_registered_and_are_published(
    client: TestClient, as_role: Headers, jigi: str, register: Register, events: Events
) -> None:
    households = [register(), register()]

    answer = enrol(client, as_role, programme=jigi, household_ids=households)

    assert answer.status_code == 201
    assert (answer.json()["enrolled"], answer.json()["already_enrolled"]) == (2, 0)
    [batch] = [EnrolmentsChanged.model_validate(data) for data in events("enrolments.changed")]
    assert (batch.programme_code, batch.status, len(batch.items)) == (jigi, "registered", 2)


def test_enrolling_the_same_households_again_leaves_them_as_they_were(
    client: TestClient, as_role: Headers, jigi: str, register: Register
) -> None:
    households = [register(), register()]
    enrol(client, as_role, programme=jigi, household_ids=households)

    again = enrol(client, as_role, programme=jigi, household_ids=households)

    assert (again.json()["enrolled"], again.json()["already_enrolled"]) == (0, 2)


def test_a_household_is_enrolled_again_once_it_has_exited_and_only_once(
    client: TestClient, as_role: Headers, jigi: str, register: Register
) -> None:
    household = register()
    [first] = enrol(client, as_role, programme=jigi, household_ids=[household]).json()["enrolment_ids"]
    move(client, as_role, first, action="target")  # moves that keep it live leave it live
    assert enrol(client, as_role, programme=jigi, household_ids=[household]).json()["enrolled"] == 0
    move(client, as_role, first, action="exit", reason="moved to Bamako")

    again = enrol(client, as_role, programme=jigi, household_ids=[household]).json()
    twice = enrol(client, as_role, programme=jigi, household_ids=[household]).json()

    assert (again["enrolled"], twice["enrolled"], twice["already_enrolled"]) == (1, 0, 1)
    listed = client.get(f"/v1/enrolments?programme={jigi}", headers=as_role("auditor")).json()["items"]
    assert sorted(e["status"] for e in listed) == ["exited", "registered"]


def test_a_filter_with_a_pmt_threshold_enrols_only_the_poorest_of_the_zone(
    client: TestClient, as_role: Headers, jigi: str, register: Register
) -> None:
    poor = register(pmt_score=800)
    register(pmt_score=1300)
    register(region="Gao", cercle="Gao", commune="Gao", pmt_score=700)  # outside the zone

    answer = enrol(client, as_role, programme=jigi, filter={"region": "Kayes", "max_pmt_score": 1000})

    assert answer.json()["enrolled"] == 1
    listed = client.get(f"/v1/enrolments?programme={jigi}", headers=as_role("auditor")).json()["items"]
    assert [e["household_id"] for e in listed] == [poor]


def test_enrolling_in_an_unknown_programme_is_a_422_naming_the_known_ones(
    client: TestClient, as_role: Headers, jigi: str, register: Register
) -> None:
    answer = enrol(client, as_role, programme="NOPE", household_ids=[register()])

    assert answer.status_code == 422
    assert answer.json()["error"]["details"] == {"programme": "NOPE", "known": [jigi]}


def test_a_household_outside_the_programme_zone_cannot_be_enrolled(
    client: TestClient, as_role: Headers, jigi: str, register: Register
) -> None:
    outside = register(region="Gao", cercle="Gao", commune="Gao")

    answer = enrol(client, as_role, programme=jigi, household_ids=[outside])

    assert answer.status_code == 422
    assert answer.json()["error"]["details"]["outside_zone"] == [outside]


def test_the_capacity_of_a_programme_is_enforced(
    client: TestClient, as_role: Headers, register: Register
) -> None:
    client.post("/v1/programmes", json=programme("SMALL", capacity=2), headers=as_role("operator"))
    enrol(client, as_role, programme="SMALL", household_ids=[register()])

    answer = enrol(client, as_role, programme="SMALL", household_ids=[register(), register()])

    assert answer.status_code == 409
    assert answer.json()["error"]["details"] == {"capacity": 2, "enrolled": 1, "adding": 2}


def test_an_enrolment_goes_through_validation_activation_suspension_and_exit_with_its_history(
    client: TestClient, as_role: Headers, jigi: str, register: Register, events: Events
) -> None:
    [enrolment_id] = enrol(client, as_role, programme=jigi, household_ids=[register()]).json()[
        "enrolment_ids"
    ]

    assert move(client, as_role, enrolment_id, action="target").status_code == 200
    validated = move(client, as_role, enrolment_id, action="validate", validation=VALIDATION)
    assert validated.json()["validated_where"] == "Sirakoro"
    assert move(client, as_role, enrolment_id, action="activate").json()["status"] == "active"
    assert (
        move(client, as_role, enrolment_id, action="suspend", reason="absent").json()["status"] == "suspended"
    )
    assert move(client, as_role, enrolment_id, action="activate").json()["status"] == "active"
    exited = move(client, as_role, enrolment_id, action="exit", reason="moved to Bamako").json()

    assert (exited["status"], exited["exit_reason"], exited["allowed"]) == ("exited", "moved to Bamako", [])
    history = client.get(f"/v1/enrolments/{enrolment_id}", headers=as_role("auditor")).json()["history"]
    assert [h["to_status"] for h in history] == [
        "registered", "targeted", "validated", "active", "suspended", "active", "exited",
    ]  # fmt: skip
    assert (history[2]["validated_by"], history[2]["where"], history[2]["by"]) == (
        "comité villageois de Sirakoro",
        "Sirakoro",
        "operator-user",
    )
    activated = [EnrolmentsActivated.model_validate(data) for data in events("enrolments.activated")]
    assert len(activated) == 2
    assert [e["items"][0]["reason"] for e in events("enrolments.exited")] == ["moved to Bamako"]
    assert len(events("enrolments.suspended")) == 1


def test_a_forbidden_transition_is_a_409_listing_the_allowed_ones(
    client: TestClient, as_role: Headers, jigi: str, register: Register
) -> None:
    [enrolment_id] = enrol(client, as_role, programme=jigi, household_ids=[register()]).json()[
        "enrolment_ids"
    ]

    answer = move(client, as_role, enrolment_id, action="activate")

    assert answer.status_code == 409
    assert answer.json()["error"]["details"] == {"status": "registered", "allowed": ["targeted", "exited"]}


def test_validation_without_who_when_and_where_is_a_422(
    client: TestClient, as_role: Headers, jigi: str, register: Register
) -> None:
    [enrolment_id] = enrol(client, as_role, programme=jigi, household_ids=[register()]).json()[
        "enrolment_ids"
    ]

    assert move(client, as_role, enrolment_id, action="validate").status_code == 422
    assert move(client, as_role, enrolment_id, action="exit").status_code == 422


def test_a_bulk_transition_by_selection_moves_the_allowed_and_lists_the_refused(
    client: TestClient, as_role: Headers, jigi: str, register: Register
) -> None:
    ids = enrol(client, as_role, programme=jigi, household_ids=[register(), register(), register()]).json()[
        "enrolment_ids"
    ]
    move(client, as_role, ids[0], action="target")

    answer = client.post(
        "/v1/enrolments/transitions",
        json={"action": "target", "selection": {"programme": jigi, "region": "Kayes"}},
        headers=as_role("operator"),
    )

    assert answer.status_code == 200
    assert answer.json()["moved"] == 2
    assert answer.json()["refused"] == [
        {"enrolment_id": ids[0], "status": "targeted", "allowed": ["validated", "exited"]}
    ]


def bulk(client: TestClient, as_role: Headers, **body: Any) -> Any:
    return client.post("/v1/enrolments/transitions", json=body, headers=as_role("operator"))


def test_a_bulk_move_of_a_mixed_selection_writes_history_events_and_one_audit_for_the_moved_only(
    client: TestClient, as_role: Headers, jigi: str, register: Register, events: Events, count: Count
) -> None:
    ids = enrol(client, as_role, programme=jigi, household_ids=[register() for _ in range(4)]).json()[
        "enrolment_ids"
    ]
    move(client, as_role, ids[0], action="target")
    move(client, as_role, ids[1], action="exit", reason="refused the programme")

    answer = bulk(client, as_role, action="target", selection={"programme": jigi})

    assert (answer.status_code, answer.json()["moved"]) == (200, 2)
    assert answer.json()["refused"] == sorted(
        [
            {"enrolment_id": ids[0], "status": "targeted", "allowed": ["validated", "exited"]},
            {"enrolment_id": ids[1], "status": "exited", "allowed": []},
        ],
        key=lambda refused: str(refused["enrolment_id"]),
    )
    for enrolment_id in ids[2:]:
        detail = client.get(f"/v1/enrolments/{enrolment_id}", headers=as_role("auditor")).json()
        assert detail["status"] == "targeted"
        assert [(h["from_status"], h["to_status"], h["by"]) for h in detail["history"]] == [
            (None, "registered", "registry"),
            ("registered", "targeted", "operator-user"),
        ]
    assert count("SELECT count(*) FROM enrolment.enrolment_transition WHERE to_status = 'targeted'") == 3
    bulk_events = [EnrolmentsChanged.model_validate(data) for data in events("enrolments.changed")][-1]
    assert (bulk_events.status, {str(item.enrolment_id) for item in bulk_events.items}) == (
        "targeted",
        set(ids[2:]),
    )
    audit = events("audit.recorded")[-1]
    assert (audit["action"], audit["subject"]) == ("enrolments.target", f"programme/{jigi}")
    assert audit["before"] == {"statuses": {"registered": 2, "targeted": 1, "exited": 1}}
    assert audit["after"] == {"moved": 2, "refused": 2, "reason": None}


def test_a_bulk_activation_reactivates_the_suspended_and_starts_the_validated(
    client: TestClient, as_role: Headers, jigi: str, register: Register, events: Events
) -> None:
    ids = enrol(client, as_role, programme=jigi, household_ids=[register(), register()]).json()[
        "enrolment_ids"
    ]
    activated(client, as_role, [ids[0]], "2025-01-15T09:00:00Z")
    move(client, as_role, ids[0], action="suspend", reason="absent")
    bulk(client, as_role, action="target", enrolment_ids=[ids[1]])
    bulk(client, as_role, action="validate", validation=VALIDATION, enrolment_ids=[ids[1]])

    answer = bulk(client, as_role, action="activate", at="2026-03-02T08:00:00Z", enrolment_ids=ids)

    assert (answer.json()["moved"], answer.json()["refused"]) == (2, [])
    first, second = (client.get(f"/v1/enrolments/{i}", headers=as_role("auditor")).json() for i in ids)
    assert (first["status"], first["started_on"]) == ("active", "2025-01-15")
    assert (second["status"], second["started_on"]) == ("active", "2026-03-02")
    assert (second["validated_by"], second["validated_where"]) == (
        "comité villageois de Sirakoro",
        "Sirakoro",
    )
    assert [h["from_status"] for h in first["history"]][-1] == "suspended"
    validated = second["history"][2]
    assert (validated["validated_by"], validated["where"], validated["reason"]) == (
        "comité villageois de Sirakoro",
        "Sirakoro",
        "comité villageois de Sirakoro, Sirakoro",
    )
    activations = [EnrolmentsActivated.model_validate(data) for data in events("enrolments.activated")]
    published = [str(item.enrolment_id) for batch in activations for item in batch.items]
    assert sorted(published) == sorted([ids[0], ids[0], ids[1]])  # ids[0] was activated once before


def test_a_bulk_exit_carries_its_reason_to_the_enrolments_and_the_events(
    client: TestClient, as_role: Headers, jigi: str, register: Register, events: Events
) -> None:
    temporary = {"shock": "inondations 2026", "max_cycles": 2}
    ids = enrol(
        client, as_role, programme=jigi, household_ids=[register(), register()], temporary=temporary
    ).json()["enrolment_ids"]
    move(client, as_role, ids[0], action="target")

    answer = bulk(client, as_role, action="exit", reason="  fin du  financement ", enrolment_ids=ids)

    assert (answer.json()["moved"], answer.json()["refused"]) == (2, [])
    for enrolment_id in ids:
        exited = client.get(f"/v1/enrolments/{enrolment_id}", headers=as_role("auditor")).json()
        assert (exited["status"], exited["exit_reason"]) == ("exited", "fin du financement")
    batches = [EnrolmentsExited.model_validate(data) for data in events("enrolments.exited")]
    items = [(item.reason, item.shock, item.max_cycles) for batch in batches for item in batch.items]
    assert items == [("fin du financement", "inondations 2026", 2)] * 2


def test_a_bulk_move_naming_an_unknown_enrolment_is_a_422_and_moves_nothing(
    client: TestClient, as_role: Headers, jigi: str, register: Register, count: Count
) -> None:
    [known] = enrol(client, as_role, programme=jigi, household_ids=[register()]).json()["enrolment_ids"]
    unknown = str(uuid.uuid4())

    answer = bulk(client, as_role, action="target", enrolment_ids=[known, unknown])

    assert answer.status_code == 422
    assert answer.json()["error"]["details"] == {"unknown": [unknown]}
    assert count("SELECT count(*) FROM enrolment.enrolment WHERE status = 'targeted'") == 0
    assert count("SELECT count(*) FROM enrolment.enrolment_transition") == 1


def test_a_bulk_move_by_place_moves_only_the_households_living_there(
    client: TestClient, as_role: Headers, jigi: str, register: Register
) -> None:
    kita = register()
    kayes = register(cercle="Kayes", commune="Kayes")
    ids = enrol(client, as_role, programme=jigi, household_ids=[kita, kayes]).json()["enrolment_ids"]

    answer = bulk(
        client, as_role, action="target", selection={"programme": jigi, "region": "kayes", "commune": "KITA"}
    )

    assert (answer.json()["moved"], answer.json()["refused"]) == (1, [])
    statuses = [client.get(f"/v1/enrolments/{i}", headers=as_role("auditor")).json()["status"] for i in ids]
    assert statuses == ["targeted", "registered"]


def test_a_filter_enrols_the_zone_by_place_whatever_the_spelling_of_the_commune(
    client: TestClient, as_role: Headers, register: Register
) -> None:
    zone = [{"region": "Ségou", "cercle": "Ségou", "commune": "Pélengana"}]
    client.post("/v1/programmes", json=programme("PLACE", zone=zone), headers=as_role("operator"))
    accents = register(region="Ségou", cercle="Ségou", commune="Pélengana")
    capitals = register(region="Ségou", cercle="Ségou", commune="PELENGANA")
    register(region="Ségou", cercle="Ségou", commune="Markala")

    answer = enrol(client, as_role, programme="PLACE", filter={}).json()

    assert (answer["enrolled"], answer["already_enrolled"]) == (2, 0)
    listed = client.get("/v1/enrolments?programme=PLACE", headers=as_role("auditor")).json()["items"]
    assert sorted(e["household_id"] for e in listed) == sorted([accents, capitals])


def test_enrolment_ids_follow_the_order_of_the_households_given(
    client: TestClient, as_role: Headers, jigi: str, register: Register, events: Events
) -> None:
    households = [register() for _ in range(5)]
    given = [households[3], households[0], households[4], households[3], households[1]]

    answer = enrol(client, as_role, programme=jigi, household_ids=given).json()

    assert (answer["enrolled"], answer["already_enrolled"]) == (4, 0)
    enrolled = [
        client.get(f"/v1/enrolments/{i}", headers=as_role("auditor")).json()["household_id"]
        for i in answer["enrolment_ids"]
    ]
    assert enrolled == [households[3], households[0], households[4], households[1]]
    [batch] = events("enrolments.changed")
    assert [item["enrolment_id"] for item in batch["items"]] == answer["enrolment_ids"]


def test_past_the_capacity_nothing_is_enrolled(
    client: TestClient, as_role: Headers, register: Register, count: Count, events: Events
) -> None:
    client.post("/v1/programmes", json=programme("SMALL", capacity=2), headers=as_role("operator"))
    for _ in range(3):
        register()

    answer = enrol(client, as_role, programme="SMALL", filter={"region": "Kayes"})

    assert answer.status_code == 409
    assert count("SELECT count(*) FROM enrolment.enrolment") == 0
    assert count("SELECT count(*) FROM enrolment.enrolment_transition") == 0
    assert events("enrolments.changed") == []


def test_more_households_than_a_statement_takes_parameters_are_enrolled_and_moved_by_list(
    client: TestClient, as_role: Headers, jigi: str, db: Engine, count: Count
) -> None:
    with db.begin() as conn:  # 70,000 households straight into the registry: the API would take minutes
        households = [
            str(h)
            for h in conn.execute(
                text(
                    "INSERT INTO enrolment.household (id, rsu_id, head_name, size, region, cercle, commune) "
                    "SELECT gen_random_uuid(), 'RSU-BIG-' || i, 'Chef ' || i, 4, 'Kayes', 'Kita', 'Kita' "
                    "FROM generate_series(1, 70000) AS i RETURNING id"
                )
            ).scalars()
        ]

    enrolled = enrol(client, as_role, programme=jigi, household_ids=households)
    targeted = bulk(client, as_role, action="target", enrolment_ids=enrolled.json()["enrolment_ids"])

    assert (enrolled.status_code, enrolled.json()["enrolled"]) == (201, 70_000)
    assert (targeted.status_code, targeted.json()["moved"]) == (200, 70_000)
    assert count("SELECT count(*) FROM enrolment.enrolment_transition") == 140_000


def activated(client: TestClient, as_role: Headers, ids: list[str], at: str) -> None:
    for action, extra in (("target", {}), ("validate", {"validation": VALIDATION}), ("activate", {"at": at})):
        answer = client.post(
            "/v1/enrolments/transitions",
            json={"action": action, "enrolment_ids": ids, **extra},
            headers=as_role("operator"),
        )
        assert answer.json()["moved"] == len(ids), answer.text


def test_the_sweep_exits_enrolments_past_the_programme_duration_or_their_end_date(
    client: TestClient, as_role: Headers, register: Register, events: Events
) -> None:
    client.post("/v1/programmes", json=programme("SHORT", duration_months=3), headers=as_role("operator"))
    [old] = enrol(client, as_role, programme="SHORT", household_ids=[register()]).json()["enrolment_ids"]
    [recent] = enrol(client, as_role, programme="SHORT", household_ids=[register()]).json()["enrolment_ids"]
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    temporary = {"shock": "inondations 2026", "ends_on": yesterday}
    [shock] = enrol(
        client, as_role, programme="SHORT", household_ids=[register()], temporary=temporary
    ).json()["enrolment_ids"]
    activated(client, as_role, [old], "2025-01-15T09:00:00Z")
    activated(client, as_role, [recent], datetime.now(UTC).isoformat())

    answer = client.post("/v1/enrolments/sweeps", headers=as_role("operator"))

    assert answer.json()["exited"] == 2
    statuses = {
        e["id"]: e["status"] for e in client.get("/v1/enrolments", headers=as_role("auditor")).json()["items"]
    }
    assert statuses == {old: "exited", recent: "active", shock: "exited"}
    reasons = sorted(item["reason"] for event in events("enrolments.exited") for item in event["items"])
    assert reasons == [
        "programme SHORT ended for this household on 2025-04-15",
        f"temporary enrolment for inondations 2026 ended on {yesterday}",
    ]


def test_released_cycles_count_once_each_and_end_a_temporary_enrolment_at_its_max_cycles(
    client: TestClient,
    as_role: Headers,
    jigi: str,
    register: Register,
    db: Engine,
    settings: Settings,
    count: Count,
) -> None:
    household = register()
    temporary = {"shock": "sécheresse 2026", "max_cycles": 2}
    [enrolment_id] = enrol(
        client, as_role, programme=jigi, household_ids=[household], temporary=temporary
    ).json()["enrolment_ids"]
    activated(client, as_role, [enrolment_id], datetime.now(UTC).isoformat())
    inbox = Inbox(name="enrolment-test", unit_of_work=ENROLMENT.unit_of_work(db, settings), handlers=HANDLERS)

    def released(cycle_id: uuid.UUID) -> Delivery:
        data = CycleReleased(
            cycle_id=cycle_id,
            programme_code=jigi,
            period="2026-Q1",
            released_by="approver",
            count=1,
            amount=30_000,
            household_ids=[uuid.UUID(household)],
        )
        envelope = new_envelope(source="/filet/payments", data=data, subject=str(cycle_id))
        return Delivery("t.payments.cycles", 0, 0, str(cycle_id), encode(envelope))

    first = released(uuid.uuid4())
    inbox.apply([first, first])  # a redelivery changes nothing
    second_cycle = uuid.uuid4()
    inbox.apply([released(second_cycle), released(second_cycle)])  # two events of one cycle count once

    enrolment = client.get(f"/v1/enrolments/{enrolment_id}", headers=as_role("auditor")).json()
    assert (enrolment["status"], enrolment["paid_cycles"]) == ("exited", 2)
    assert enrolment["exit_reason"] == "temporary enrolment for sécheresse 2026 ended after 2 paid cycles"
    assert count("SELECT count(*) FROM enrolment.dead_letter") == 0


def test_the_overlap_report_counts_households_active_in_two_programmes_by_commune(
    client: TestClient, as_role: Headers, jigi: str, register: Register
) -> None:
    client.post(
        "/v1/programmes", json=programme("CADRE_COMMUN", targeting_method="hea"), headers=as_role("operator")
    )
    both = [register(), register()]
    only_one = register()
    for code, households in ((jigi, [*both, only_one]), ("CADRE_COMMUN", both)):
        ids = enrol(client, as_role, programme=code, household_ids=households).json()["enrolment_ids"]
        activated(client, as_role, ids, datetime.now(UTC).isoformat())

    report = client.get("/v1/reports/overlaps", headers=as_role("auditor")).json()

    assert report == {
        "households": 2,
        "by_commune": [
            {
                "region": "Kayes",
                "cercle": "Kita",
                "commune": "Kita",
                "programmes": ["CADRE_COMMUN", "JIGISEMEJIRI"],
                "households": 2,
            }
        ],
    }


def test_enrolments_are_listed_by_programme_and_status(
    client: TestClient, as_role: Headers, jigi: str, register: Register
) -> None:
    ids = enrol(client, as_role, programme=jigi, household_ids=[register(), register()]).json()[
        "enrolment_ids"
    ]
    move(client, as_role, ids[0], action="target")

    listed = client.get(f"/v1/enrolments?programme={jigi}&status=targeted", headers=as_role("auditor")).json()

    assert [e["id"] for e in listed["items"]] == [ids[0]]
    assert listed["items"][0]["allowed"] == ["validated", "exited"]


def test_exited_events_validate_against_their_contract(
    client: TestClient, as_role: Headers, jigi: str, register: Register, events: Events
) -> None:
    [enrolment_id] = enrol(client, as_role, programme=jigi, household_ids=[register()]).json()[
        "enrolment_ids"
    ]
    move(client, as_role, enrolment_id, action="exit", reason="refused the programme")

    [event] = [EnrolmentsExited.model_validate(data) for data in events("enrolments.exited")]

    assert (event.status, str(event.items[0].enrolment_id)) == ("exited", enrolment_id)
