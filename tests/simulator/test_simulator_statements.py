"""Statement exports: camt.053 (lxml), MT940 (mt-940) and the operator CSV parse, and add up to the ledger."""

from __future__ import annotations

import csv
import io
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import mt940
import pytest
from lxml import etree

from simulator.behaviour import FailureCode
from simulator.config import SimulatorConfig
from simulator.ledger import Ledger, Payment
from simulator.statements.camt053 import camt053
from simulator.statements.mt940 import mt940 as mt940_statement
from simulator.statements.operator_csv import operator_report
from simulator.statements.period import StatementPeriod

CAMT = {"c": "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"}
SWIFT_X = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/-?:().,'+ ")


@pytest.fixture
def books(client: httpx.Client) -> dict[str, Any]:
    """A day of GSMA payments with failures, amount mismatches, reversals, returns and a second funding."""
    knobs = {
        "processing_ms": 0,
        "failures": {"RECIPIENT_NOT_FOUND": 0.2},
        "amount_mismatch": {"rate": 0.1, "delta": -5000},
        "reversals": {"rate": 0.3, "delay_ms": 0, "returned_share": 0.5},
    }
    assert client.put("/_admin/behaviour", json={"gsma": knobs}).status_code == 200
    funding = {"dialect": "gsma", "amount": 1_000_000, "reference": "TRS25-0314-01"}
    assert client.post("/_admin/funding", json=funding).status_code == 201
    for n in range(60):
        body = {
            "amount": "30000",
            "currency": "XOF",
            "creditParty": [{"key": "msisdn", "value": f"+2237612{n:04d}"}],
            "requestingOrganisationTransactionReference": f"PMT25Q1-{n:06d}",
        }
        client.post(
            "/gsma/transactions/type/disbursement", headers={"X-CorrelationID": str(uuid.uuid4())}, json=body
        )
    payments: list[dict[str, Any]] = client.get("/_admin/ledger", params={"dialect": "gsma"}).json()[
        "payments"
    ]
    summary: dict[str, Any] = client.get("/_admin/ledger/summary").json()
    paid = [p for p in payments if p["status"] in ("succeeded", "reversed")]
    return {
        "payments": payments,
        "paid": sum(p["paid_amount"] for p in paid),
        "fees": sum(p["fee"] for p in paid),
        "returned": sum(p["paid_amount"] for p in payments if p["status"] == "reversed"),
        "balance": summary["balances"]["gsma"],
        "references": {p["provider_reference"]: p["our_reference"] for p in paid},
    }


def test_the_books_hold_every_kind_of_movement(books: dict[str, Any]) -> None:
    statuses = {p["status"] for p in books["payments"]}
    undoings = {p["undoing"] for p in books["payments"]}
    assert statuses == {"succeeded", "failed", "reversed"}
    assert {"reversal", "return"} <= undoings
    assert any(p["paid_amount"] not in (0, p["requested_amount"]) for p in books["payments"])


def test_camt053_parses_and_its_balances_and_entries_match_the_ledger(
    client: httpx.Client, books: dict[str, Any]
) -> None:
    document = etree.fromstring(client.get("/_admin/statements/camt053", params={"account": "gsma"}).content)

    [statement] = document.findall(".//c:Stmt", CAMT)
    opening, closing = (_balance(statement, code) for code in ("OPBD", "CLBD"))
    entries = [_entry(node) for node in statement.findall("c:Ntry", CAMT)]
    credits = sum(e["amount"] for e in entries if e["side"] == "CRDT")
    debits = sum(e["amount"] for e in entries if e["side"] == "DBIT")
    assert opening + credits - debits == closing == books["balance"]
    payments = [e for e in entries if e["code"] == ("ICDT", "DMCT") and e["side"] == "DBIT"]
    assert sum(e["amount"] for e in payments) == books["paid"]
    assert {e["service_ref"]: e["end_to_end"] for e in payments} == books["references"]
    assert sum(e["amount"] for e in entries if e["code"] == ("MDOP", "CHRG")) == books["fees"]
    undone = [e for e in entries if e["reversal"] or e["returned"]]
    assert sum(e["amount"] for e in undone) == books["returned"]
    assert all(e["side"] == "CRDT" for e in undone)
    assert sum(1 for e in undone if e["returned"]) == sum(
        1 for p in books["payments"] if p["undoing"] == "return"
    )
    fundings = {e["end_to_end"] for e in entries if e["code"] == ("RCDT", "DMCT")}
    assert {"FUNDING-0001", "TRS25-0314-01"} <= fundings
    summary = statement.find("c:TxsSummry", CAMT)
    assert summary is not None
    assert int(summary.findtext("c:TtlCdtNtries/c:Sum", namespaces=CAMT) or "") == credits
    assert int(summary.findtext("c:TtlDbtNtries/c:Sum", namespaces=CAMT) or "") == debits


def test_mt940_parses_with_mt940_and_its_lines_match_the_ledger(
    client: httpx.Client, books: dict[str, Any]
) -> None:
    text = client.get("/_admin/statements/mt940", params={"account": "gsma"}).text
    transactions = mt940.models.Transactions()
    transactions.parse(text)

    assert all(line.endswith("\r") for line in text.split("\n")[:-1])
    assert set(text.replace("\r\n", "")) <= SWIFT_X
    opening = transactions.data["final_opening_balance"].amount.amount
    closing = transactions.data["final_closing_balance"].amount.amount
    amounts = [t.data["amount"].amount for t in transactions]
    assert opening + sum(amounts) == closing == books["balance"]
    paid = [t for t in transactions if t.data["status"] == "D" and t.data["id"] == "NTRF"]
    assert -sum(t.data["amount"].amount for t in paid) == books["paid"]
    assert {t.data["bank_reference"]: t.data["customer_reference"] for t in paid} == books["references"]
    undone = [t for t in transactions if t.data["status"] == "RD"]
    assert sum(t.data["amount"].amount for t in undone) == books["returned"]
    charges = [t for t in transactions if t.data["id"] == "NCHG"]
    assert -sum(t.data["amount"].amount for t in charges) == books["fees"]


def test_the_operator_csv_parses_and_its_totals_match_the_ledger(
    client: httpx.Client, books: dict[str, Any]
) -> None:
    text = client.get("/_admin/statements/operator-csv", params={"account": "gsma"}).text
    preamble, table, totals = text.split("\n\n")

    rows = list(csv.DictReader(io.StringIO(table), delimiter=";"))
    total = {line.split(";")[0]: int(line.split(";")[1]) for line in totals.strip().splitlines()}
    opening = int(dict(line.split(";", 1) for line in preamble.splitlines()[1:])["Solde initial"])
    assert total["Total débits (succès)"] == books["paid"]
    assert total["Total frais"] == books["fees"]
    assert total["Solde final"] == books["balance"] == int(rows[-1]["Solde"])
    assert (
        opening + total["Total crédits (succès)"] - total["Total débits (succès)"] - total["Total frais"]
        == (total["Solde final"])
    )
    failed = [row for row in rows if row["Statut"] == "Echec"]
    assert len(failed) == sum(1 for p in books["payments"] if p["status"] == "failed")
    cancelled = [row for row in rows if row["Type d'opération"] == "Annulation"]
    assert sum(int(row["Crédit"]) for row in cancelled) == books["returned"]


@pytest.mark.slow
def test_two_hundred_thousand_entries_are_generated_in_a_few_seconds() -> None:
    ledger = Ledger(SimulatorConfig().accounts)
    at = datetime.now(UTC)
    for n in range(200_000):
        payment = Payment(
            "gsma", f"GS{n:014d}", f"k{n}", f"PMT25Q1-{n:06d}", "+22376123401", "AWA DIALLO", 30000, at
        )
        ledger.add(payment)
        if n % 20 == 0:
            ledger.fail(payment, FailureCode.RECIPIENT_NOT_FOUND, at)
        elif ledger.settle(payment, paid=30000, fee=150, at=at) and n % 99 == 0:
            ledger.undo(payment, "return", at)
    period = StatementPeriod.of(ledger, "gsma", at.date())

    for name, chunks in (
        ("camt.053", camt053([period], at)),
        ("MT940", mt940_statement([period])),
        (
            "operator CSV",
            operator_report(period.account, period.start, period.end, period.opening, period.movements),
        ),
    ):
        started = time.monotonic()
        size = _drain(chunks)
        assert size > 10_000_000, name
        assert time.monotonic() - started < 10, name


def _drain(chunks: Iterator[str]) -> int:
    return sum(len(chunk) for chunk in chunks)


def _balance(statement: Any, code: str) -> int:
    for balance in statement.findall("c:Bal", CAMT):
        if balance.findtext("c:Tp/c:CdOrPrtry/c:Cd", namespaces=CAMT) == code:
            amount = int(balance.findtext("c:Amt", namespaces=CAMT))
            return amount if balance.findtext("c:CdtDbtInd", namespaces=CAMT) == "CRDT" else -amount
    raise AssertionError(f"no {code} balance")


def _entry(node: Any) -> dict[str, Any]:
    return {
        "amount": int(node.findtext("c:Amt", namespaces=CAMT)),
        "side": node.findtext("c:CdtDbtInd", namespaces=CAMT),
        "reversal": node.findtext("c:RvslInd", namespaces=CAMT) == "true",
        "returned": node.find(".//c:RtrInf", CAMT) is not None,
        "code": (
            node.findtext("c:BkTxCd/c:Domn/c:Fmly/c:Cd", namespaces=CAMT),
            node.findtext("c:BkTxCd/c:Domn/c:Fmly/c:SubFmlyCd", namespaces=CAMT),
        ),
        "service_ref": node.findtext("c:AcctSvcrRef", namespaces=CAMT),
        "end_to_end": node.findtext(".//c:EndToEndId", namespaces=CAMT),
    }
