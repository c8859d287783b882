"""Possible duplicates found by imports and registrations, reviewed through the API: confirm merges, dismiss forgets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from shared.events.contracts import DuplicateConfirmed

Count = Callable[[str], int]
CsvFile = Callable[[list[dict[str, str]]], bytes]
Headers = Callable[[str], dict[str, str]]
Import = Callable[..., dict[str, Any]]
Record = Callable[..., dict[str, str]]

Events = Callable[[str], list[dict[str, Any]]]


def planted(record: Record) -> list[dict[str, str]]:
    """Three originals and, after them, a duplicate of each: same NINA, same phone, respelled head."""
    originals = [record(1), record(2), record(3, head_name="Moussa Coulibaly", head_birth_year="1970")]
    return [
        *originals,
        record(11, nina=originals[0]["nina"], village="Elsewhere"),
        record(12, msisdn=originals[1]["msisdn"], head_name="Oumar Diallo", nina=""),
        record(
            13, head_name="Musa Kulibali", head_birth_year="1971", village=originals[2]["village"], nina=""
        ),
    ]


def test_planted_duplicates_are_reported_with_the_household_they_may_duplicate(
    client: TestClient, as_role: Headers, run_import: Import, record: Record, csv_file: CsvFile
) -> None:
    job = run_import(csv_file(planted(record)))

    assert (job["accepted"], job["duplicates"]) == (3, 3)
    by_row = {row["row_number"]: row for row in job["rows"]}
    assert [by_row[n]["duplicate_of"] for n in (5, 6, 7)] == [by_row[n]["household_id"] for n in (2, 3, 4)]
    queue = client.get("/v1/duplicates", headers=as_role("auditor")).json()["items"]
    assert sorted(c["reason"] for c in queue) == ["same_msisdn", "same_nina", "similar_head"]


def test_a_household_posted_alone_is_checked_against_the_registry(
    client: TestClient, as_role: Headers, run_import: Import, record: Record, csv_file: CsvFile
) -> None:
    run_import(csv_file([record(1)]))
    body = {
        "rsu_id": "RSU-NEW",
        "head_name": "Awa Diarra",
        "size": 3,
        "region": "Kayes",
        "cercle": "Kita",
        "commune": "Kita",
        "msisdn": record(1)["msisdn"],
    }

    answer = client.post("/v1/households", json=body, headers=as_role("operator"))

    assert [d["reason"] for d in answer.json()["possible_duplicates"]] == ["same_msisdn"]


def test_confirming_a_duplicate_merges_it_exits_its_enrolments_and_publishes_the_fact(
    client: TestClient,
    as_role: Headers,
    run_import: Import,
    record: Record,
    csv_file: CsvFile,
    events: Events,
) -> None:
    job = run_import(csv_file([record(1), record(2, nina=record(1)["nina"])]))
    kept, duplicate = (row["household_id"] for row in job["rows"])
    client.post(
        "/v1/programmes",
        json={
            "code": "JS",
            "name": "JS",
            "zone": [{"region": "Kayes"}],
            "duration_months": 36,
            "targeting_method": "pmt",
        },
        headers=as_role("operator"),
    )
    client.post(
        "/v1/enrolments", json={"programme": "JS", "household_ids": [duplicate]}, headers=as_role("operator")
    )
    [candidate] = client.get("/v1/duplicates", headers=as_role("auditor")).json()["items"]

    answer = client.post(
        f"/v1/duplicates/{candidate['id']}/decision",
        json={"decision": "confirm"},
        headers=as_role("operator"),
    )

    assert (answer.status_code, answer.json()["status"], answer.json()["kept_id"]) == (200, "confirmed", kept)
    merged = client.get(f"/v1/households/{duplicate}", headers=as_role("auditor")).json()
    assert (merged["status"], merged["merged_into"]) == ("merged", kept)
    [fact] = [DuplicateConfirmed.model_validate(data) for data in events("household.duplicate_confirmed")]
    assert (str(fact.kept_id), str(fact.duplicate_id), fact.decided_by) == (kept, duplicate, "operator-user")
    [exited] = events("enrolments.exited")
    assert exited["items"][0]["reason"] == f"duplicate of household {kept}"
    again = client.post(
        f"/v1/duplicates/{candidate['id']}/decision",
        json={"decision": "dismiss"},
        headers=as_role("operator"),
    )
    assert again.status_code == 409


def test_a_dismissed_pair_is_never_proposed_again(
    client: TestClient, as_role: Headers, run_import: Import, record: Record, csv_file: CsvFile, count: Count
) -> None:
    run_import(csv_file([record(1), record(2, msisdn=record(1)["msisdn"], nina="")]))
    [candidate] = client.get("/v1/duplicates", headers=as_role("auditor")).json()["items"]

    client.post(
        f"/v1/duplicates/{candidate['id']}/decision",
        json={"decision": "dismiss"},
        headers=as_role("operator"),
    )
    job = run_import(csv_file([record(3, msisdn=record(1)["msisdn"], nina="")]))

    open_pairs = [
        frozenset((c["household_id"], c["duplicate_of"]))
        for c in client.get("/v1/duplicates?status=open", headers=as_role("auditor")).json()["items"]
    ]
    assert frozenset((candidate["household_id"], candidate["duplicate_of"])) not in open_pairs
    assert len(open_pairs) == 2  # the third record may duplicate each of the two
    assert job["duplicates"] == 1
    assert count("SELECT count(*) FROM enrolment.duplicate_candidate WHERE status = 'dismissed'") == 1
