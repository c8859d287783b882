"""The Orange-style bulk portal: a CSV upload becomes a batch; its report is the operator's CSV."""

from __future__ import annotations

import csv
import io
import time
from typing import Any

import httpx

UPLOAD = (
    "reference;msisdn;amount;name\n"
    "PMT25Q1-000041;76550041;30000;NANA COULIBALY\n"
    "PMT25Q1-000042;+22376550042;30000;Souleymane Traoré\n"
    "PMT25Q1-000043;76550043;25000;OUMOU SOW\n"
    "PMT25Q1-000044;7655;30000;BAD NUMBER\n"
)


def upload(client: httpx.Client, content: str = UPLOAD, **params: str) -> httpx.Response:
    return client.post(
        "/orange/bulk",
        params=params,
        content=content.encode(),
        headers={"Content-Type": "text/csv; charset=utf-8"},
    )


def completed(client: httpx.Client, batch_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        batch: dict[str, Any] = client.get(f"/orange/bulk/{batch_id}").json()
        if batch["status"] == "completed":
            return batch
        time.sleep(0.01)
    raise AssertionError(f"batch {batch_id} did not complete")


def report(
    client: httpx.Client, batch_id: str
) -> tuple[dict[str, str], list[dict[str, str]], dict[str, int]]:
    """The batch report's preamble (label → value), rows under the header, and total lines."""
    text = client.get(f"/orange/bulk/{batch_id}/report.csv").text
    preamble, table, totals = text.split("\n\n")
    labels = dict(line.split(";", 1) for line in preamble.splitlines()[1:])
    rows = list(csv.DictReader(io.StringIO(table), delimiter=";"))
    total = {line.split(";")[0]: int(line.split(";")[1]) for line in totals.strip().splitlines()}
    assert preamble.splitlines()[0] == "Rapport des transactions - Compte Bulk Payment"
    return labels, rows, total


def test_an_uploaded_file_becomes_a_batch_paid_line_by_line(client: httpx.Client) -> None:
    answer = upload(client, reference="BAT25Q1-OM01")

    assert answer.status_code == 202
    accepted = answer.json()
    assert accepted["accepted"] == 3
    assert accepted["rejected"] == [{"line": 5, "reason": "numéro invalide: '7655'"}]
    batch = completed(client, accepted["batch_id"])
    assert batch["succeeded"] == 3
    ledger = client.get("/_admin/ledger", params={"reference": "PMT25Q1-000042"}).json()
    assert ledger["payments"][0]["msisdn"] == "+22376550042"


def test_the_batch_report_is_the_operators_csv_and_adds_up(client: httpx.Client) -> None:
    client.put(
        "/_admin/behaviour",
        json={"orange": {"processing_ms": 5, "failures": {"RECIPIENT_NOT_FOUND": 0.5}}},
    )
    content = "reference;msisdn;amount;name\n" + "".join(
        f"PMT25Q1-{n:06d};7655{n:04d};30000;BENEFICIAIRE {n}\n" for n in range(40)
    )
    batch = completed(client, upload(client, content).json()["batch_id"])

    labels, rows, total = report(client, batch["batch_id"])

    assert list(rows[0]) == [
        "N°",
        "Date",
        "Heure",
        "Référence",
        "Type d'opération",
        "Service",
        "N° de Compte",
        "Nom du bénéficiaire",
        "Débit",
        "Crédit",
        "Frais",
        "Solde",
        "Statut",
        "Référence partenaire",
        "Motif",
    ]
    succeeded = [row for row in rows if row["Statut"] == "Succès"]
    failed = [row for row in rows if row["Statut"] == "Echec"]
    assert len(succeeded) == batch["succeeded"]
    assert len(failed) == batch["failed"] > 0
    assert {row["Motif"] for row in failed} == {"Compte destinataire inexistant"}
    opening = int(labels["Solde initial"])
    assert total["Total débits (succès)"] == sum(int(row["Débit"]) for row in succeeded)
    assert total["Total frais"] == 150 * len(succeeded)
    assert total["Solde final"] == opening - total["Total débits (succès)"] - total["Total frais"]
    assert int(rows[-1]["Solde"]) == total["Solde final"]
    summary = client.get("/_admin/ledger/summary").json()["by_dialect"]["orange"]
    assert summary["succeeded"]["paid"] == total["Total débits (succès)"]


def test_the_same_file_uploaded_twice_is_refused(client: httpx.Client) -> None:
    first = upload(client)
    second = upload(client)

    assert second.status_code == 409
    assert second.json()["batch_id"] == first.json()["batch_id"]
    assert client.get("/_admin/ledger/summary").json()["payments"] == 3


def test_a_multipart_upload_is_read_like_a_portal_form(client: httpx.Client) -> None:
    files = {"file": ("lot.csv", UPLOAD.encode(), "text/csv")}

    answer = client.post("/orange/bulk", files=files)

    assert answer.status_code == 202
    assert answer.json()["accepted"] == 3


def test_a_file_without_the_amount_column_is_refused(client: httpx.Client) -> None:
    answer = upload(client, "reference;msisdn;name\nPMT25Q1-000041;76550041;NANA\n")

    assert answer.status_code == 400
