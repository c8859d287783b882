"""Household imports through the API: a job answered at once, a row-by-row report, idempotent on RSU id."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shared.events.contracts import HouseholdsRegistered

Count = Callable[[str], int]
CsvFile = Callable[[list[dict[str, str]]], bytes]
Finished = Callable[[str], dict[str, Any]]
Headers = Callable[[str], dict[str, str]]
Import = Callable[..., dict[str, Any]]
Record = Callable[..., dict[str, str]]

Events = Callable[[str], list[dict[str, Any]]]


def rows_by_number(job: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {row["row_number"]: row for row in job["rows"]}


def test_a_csv_import_registers_every_valid_row_and_reports_each_one(
    run_import: Import, record: Record, csv_file: CsvFile, count: Count, events: Events
) -> None:
    job = run_import(csv_file([record(n) for n in range(1, 6)]))

    assert job["status"] == "completed"
    assert (job["rows_total"], job["rows_done"], job["accepted"], job["rejected"]) == (5, 5, 5, 0)
    assert [row["outcome"] for row in job["rows"]] == ["accepted"] * 5
    assert [row["row_number"] for row in job["rows"]] == [2, 3, 4, 5, 6]
    assert count("SELECT count(*) FROM enrolment.household") == 5
    batches = [HouseholdsRegistered.model_validate(data) for data in events("households.registered")]
    assert sum(len(batch.items) for batch in batches) == 5
    assert {item.msisdn for batch in batches for item in batch.items} == {
        f"+2237{n:07d}" for n in range(1, 6)
    }


def test_a_json_lines_import_reads_one_household_per_line(
    run_import: Import, record: Record, count: Count
) -> None:
    body = "\n".join(json.dumps(record(n)) for n in range(1, 4)).encode()

    job = run_import(body, content_type="application/x-ndjson")

    assert (job["status"], job["accepted"]) == ("completed", 3)
    assert count("SELECT count(*) FROM enrolment.household") == 3


def test_a_malformed_json_line_is_that_rows_refusal_and_the_rest_is_imported(
    run_import: Import, record: Record
) -> None:
    body = f'{json.dumps(record(1))}\n{{"rsu_id": "RSU-X", \n{json.dumps(record(3))}\n'.encode()

    job = run_import(body, content_type="application/x-ndjson")

    assert (job["accepted"], job["rejected"]) == (2, 1)
    assert rows_by_number(job)[2]["reason"].startswith("not valid JSON")


def test_an_import_is_answered_202_with_the_job_and_a_location(
    client: TestClient, as_role: Headers, record: Record, csv_file: CsvFile, wait_for_import: Finished
) -> None:
    answer = client.post(
        "/v1/household-imports",
        content=csv_file([record(1)]),
        headers={**as_role("operator"), "Content-Type": "text/csv"},
    )

    assert answer.status_code == 202
    assert answer.json()["status"] in ("queued", "running", "completed")
    assert answer.headers["Location"] == f"/v1/household-imports/{answer.json()['id']}"
    assert wait_for_import(answer.json()["id"])["status"] == "completed"


def post_file(client: TestClient, as_role: Headers, body: bytes, content_type: str = "text/csv") -> Any:
    return client.post(
        "/v1/household-imports", content=body, headers={**as_role("operator"), "Content-Type": content_type}
    )


def test_an_empty_file_is_refused_with_422(client: TestClient, as_role: Headers, count: Count) -> None:
    answer = post_file(client, as_role, b"\n\n")

    assert answer.status_code == 422
    assert answer.json()["error"]["message"] == "the file is empty"
    assert count("SELECT count(*) FROM enrolment.import_job") == 0


def test_a_file_not_in_utf8_is_refused_with_the_line_at_fault(
    client: TestClient, as_role: Headers, record: Record, csv_file: CsvFile
) -> None:
    body = (
        csv_file([record(1, head_name="Awa Diarra"), record(2, head_name="Sékou Keïta")])
        .decode()
        .encode("latin-1")
    )

    answer = post_file(client, as_role, body)

    assert answer.status_code == 422
    assert answer.json()["error"]["details"] == {"line": 3}
    assert "not UTF-8" in answer.json()["error"]["message"]


def test_missing_and_unknown_columns_are_named_in_the_422(
    client: TestClient, as_role: Headers, record: Record, csv_file: CsvFile
) -> None:
    row = record(1)
    del row["msisdn"]
    row["couleur"] = "bleu"

    answer = post_file(client, as_role, csv_file([row]))

    assert answer.status_code == 422
    details = answer.json()["error"]["details"]
    assert (details["missing"], details["unknown"]) == (["msisdn"], ["couleur"])


def test_a_body_neither_csv_nor_json_lines_gets_415(client: TestClient, as_role: Headers) -> None:
    answer = post_file(client, as_role, b"<xml/>", content_type="application/xml")

    assert answer.status_code == 415


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"region": "Abidjan"}, "region", "unknown region 'Abidjan'"),
        ({"cercle": "Gao"}, "cercle", "cercle 'Gao' is in region Gao, not Kayes"),
        ({"msisdn": "7612340"}, "msisdn", "not a Malian mobile number"),
        ({"msisdn": "+33 6 12 34 56 78"}, "msisdn", "foreign number (+33)"),
    ],
)
def test_a_row_breaking_a_household_rule_is_rejected_with_its_field_and_reason(
    run_import: Import, record: Record, csv_file: CsvFile, overrides: dict[str, str], field: str, reason: str
) -> None:
    job = run_import(csv_file([record(1), record(2, **overrides)]))

    assert (job["accepted"], job["rejected"]) == (1, 1)
    refused = rows_by_number(job)[3]
    assert (refused["outcome"], refused["field"]) == ("rejected", field)
    assert reason in refused["reason"]


def test_the_same_household_twice_in_one_file_is_refused_the_second_time(
    run_import: Import, record: Record, csv_file: CsvFile
) -> None:
    job = run_import(csv_file([record(1), record(2), record(1)]))

    refused = rows_by_number(job)[4]
    assert (refused["outcome"], refused["field"]) == ("rejected", "rsu_id")
    assert refused["reason"] == "duplicate in file: same RSU id as row 2"


def test_a_strict_import_with_one_bad_row_imports_nothing(
    run_import: Import, record: Record, csv_file: CsvFile, count: Count, events: Events
) -> None:
    job = run_import(
        csv_file([record(n) for n in range(1, 2500)] + [record(9999, region="Dakar")]), strict=True
    )

    assert job["status"] == "rolled_back"
    assert (job["accepted"], job["rejected"]) == (0, 1)
    assert [row["row_number"] for row in job["rows"]] == [2501]
    assert count("SELECT count(*) FROM enrolment.household") == 0
    assert events("households.registered") == []


def test_a_strict_import_without_a_bad_row_imports_everything(
    run_import: Import, record: Record, csv_file: CsvFile, count: Count
) -> None:
    job = run_import(csv_file([record(n) for n in range(1, 4)]), strict=True)

    assert (job["status"], job["accepted"]) == ("completed", 3)
    assert count("SELECT count(*) FROM enrolment.household") == 3


def test_importing_the_same_file_again_changes_nothing(
    run_import: Import, record: Record, csv_file: CsvFile, count: Count, events: Events
) -> None:
    body = csv_file([record(n) for n in range(1, 1201)])
    first = run_import(body)
    households_before = count("SELECT count(*) FROM enrolment.household")

    again = run_import(body, limit=5)

    assert (first["accepted"], again["accepted"], again["duplicates"]) == (1200, 0, 1200)
    assert again["rows"][0]["reason"] == "RSU id already registered"
    assert again["rows"][0]["duplicate_of"] == first["rows"][0]["household_id"]
    assert count("SELECT count(*) FROM enrolment.household") == households_before == 1200
    assert count("SELECT count(*) FROM enrolment.duplicate_candidate") == 0
    batches = events("households.registered")
    assert sum(len(batch["items"]) for batch in batches) == 1200
    assert max(len(batch["items"]) for batch in batches) <= 1000


def test_concurrent_imports_of_the_same_file_register_each_household_once(
    client: TestClient,
    as_role: Headers,
    record: Record,
    csv_file: CsvFile,
    count: Count,
    events: Events,
    wait_for_import: Finished,
) -> None:
    body = csv_file([record(n) for n in range(1, 1501)])
    ids: list[str] = []

    def post() -> None:
        ids.append(post_file(client, as_role, body).json()["id"])

    threads = [threading.Thread(target=post) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    jobs = [wait_for_import(import_id) for import_id in ids]

    assert sorted(job["accepted"] for job in jobs) == [0, 0, 1500]
    assert count("SELECT count(*) FROM enrolment.household") == 1500
    assert sum(len(batch["items"]) for batch in events("households.registered")) == 1500


def test_the_report_is_paginated_with_a_next_link(
    client: TestClient, as_role: Headers, run_import: Import, record: Record, csv_file: CsvFile
) -> None:
    job = run_import(csv_file([record(n) for n in range(1, 8)]), limit=3)

    assert [row["row_number"] for row in job["rows"]] == [2, 3, 4]
    following = client.get(job["links"]["next"], headers=as_role("auditor")).json()
    assert [row["row_number"] for row in following["rows"]] == [5, 6, 7]
    last = client.get(following["links"]["next"], headers=as_role("auditor")).json()
    assert [row["row_number"] for row in last["rows"]] == [8]
    assert last["links"]["next"] is None


def test_an_unknown_import_is_a_404(client: TestClient, as_role: Headers) -> None:
    answer = client.get(
        "/v1/household-imports/00000000-0000-0000-0000-000000000000", headers=as_role("auditor")
    )

    assert answer.status_code == 404
