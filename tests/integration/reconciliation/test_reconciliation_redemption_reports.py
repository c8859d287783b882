"""Vendors' voucher redemption reports through the API: imported, matched against the redemptions payments
announced, discrepancies in the statements' vocabulary, the summary's voucher block and its exports."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine, text

from filet.reconciliation_commands import redemptions
from payments.domain.vouchers import format_voucher_code, new_voucher_code
from reconciliation.api.app import create_app
from shared.events import Envelope, decode
from shared.events.contracts import (
    CycleCreated,
    DiscrepanciesFound,
    IssuedVoucher,
    RedemptionReportReconciled,
    VoucherRedeemed,
    VouchersIssued,
)
from shared.settings import Settings

CYCLE = uuid.UUID("2026a000-0000-4000-8000-0000000000c1")
APRIL_2 = datetime(2026, 4, 2, 10, 15, tzinfo=UTC)
HEADER = "Commerçant;Code du bon;Montant;Date;Heure;N° de reçu"
Deliver = Callable[..., Envelope]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Payments:
    """Vouchers issued on the test cycle and redeemed, announced as the payments service announces them."""

    def __init__(self, deliver: Deliver) -> None:
        self.deliver = deliver
        deliver(
            CycleCreated(
                cycle_id=CYCLE,
                programme_code="CADRE-COMMUN",
                period="2026-Q2",
                funding_line="ECHO-2026",
                created_by="awa",
                planned_count=0,
                planned_amount=0,
            ),
            subject=str(CYCLE),
        )

    def issue(self, amount: int = 30_000) -> tuple[IssuedVoucher, str]:
        issued = IssuedVoucher(
            voucher_id=uuid.uuid4(),
            payment_id=uuid.uuid4(),
            instruction_id=f"VCH26Q2-{uuid.uuid4().hex[:6]}",
            household_id=uuid.uuid4(),
            amount=amount,
            expires_at=APRIL_2 + timedelta(days=60),
        )
        self.deliver(VouchersIssued(cycle_id=CYCLE, items=[issued]), subject=str(CYCLE))
        return issued, new_voucher_code()

    def redeem(
        self, issued: IssuedVoucher, code: str, *, vendor: str = "BOUTIQUE-KATI-01", at: datetime = APRIL_2
    ) -> None:
        self.deliver(
            VoucherRedeemed(
                voucher_id=issued.voucher_id,
                payment_id=issued.payment_id,
                cycle_id=CYCLE,
                vendor_id=vendor,
                amount=issued.amount,
                redeemed_at=at,
                code=code,
            ),
            subject=str(CYCLE),
        )

    def redeemed(self, amount: int = 30_000, **options: Any) -> tuple[IssuedVoucher, str]:
        issued, code = self.issue(amount)
        self.redeem(issued, code, **options)
        return issued, code


@pytest.fixture
def payments(deliver: Deliver) -> Payments:
    return Payments(deliver)


def report(*rows: tuple[str, str, int], vendor: str | None = None, period: str | None = None) -> bytes:
    """A vendor report: (vendor, code, amount) rows redeemed on 2 April, with preamble and totals."""
    lines = ["Rapport de remboursement des bons"]
    if vendor:
        lines.append(f"Commerçant;{vendor}")
    if period:
        lines.append(f"Période;{period}")
    lines += ["Devise;XOF", HEADER]
    for number, (who, code, amount) in enumerate(rows, start=1):
        lines.append(
            f"{who};{format_voucher_code(code)};{amount:,};02/04/2026;10:15;R-{number:04d}".replace(",", " ")
        )
    lines += [f"Nombre de bons;{len(rows)}", f"Total;{sum(row[2] for row in rows):,}".replace(",", " ")]
    return ("\n".join(lines) + "\n").encode()


def post(client: TestClient, token: str, body: bytes) -> Any:
    return client.post(
        "/v1/redemption-reports", content=body, headers={**bearer(token), "Content-Type": "text/csv"}
    )


def imported(client: TestClient, token: str, body: bytes) -> dict[str, Any]:
    answer = post(client, token, body)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def discrepancies(client: TestClient, token: str, category: str | None = None) -> list[dict[str, Any]]:
    answer = client.get(
        f"/v1/cycles/{CYCLE}/discrepancies",
        params={"category": category} if category else {},
        headers=bearer(token),
    )
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


def vouchers_block(client: TestClient, token: str) -> dict[str, dict[str, int]]:
    answer = client.get(f"/v1/cycles/{CYCLE}/reconciliation", headers=bearer(token))
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["vouchers"])


def published(db: Engine, event_type: str) -> list[Any]:
    with db.connect() as connection:
        payloads = connection.execute(
            text("SELECT payload FROM reconciliation.outbox WHERE type = :t ORDER BY id"), {"t": event_type}
        ).scalars()
        return [decode(bytes(payload)).data for payload in payloads]


def test_a_reported_redemption_at_the_redeemed_amount_is_matched(
    client: TestClient, tokens: dict[str, str], payments: Payments, db: Engine
) -> None:
    _, code = payments.redeemed(30_000)

    answer = imported(client, tokens["operator"], report(("BOUTIQUE-KATI-01", code, 30_000)))

    assert answer["outcomes"] == {"MATCHED": 1}
    assert (answer["lines"], answer["rejected"], answer["discrepancies_found"]) == (1, [], 0)
    assert answer["vendors"] == ["BOUTIQUE-KATI-01"]
    assert discrepancies(client, tokens["auditor"]) == []
    block = vouchers_block(client, tokens["auditor"])
    assert block["reported"] == {"count": 1, "amount": 30_000}
    assert block["report_matched"] == {"count": 1, "amount": 30_000}
    assert block["awaiting_report"] == {"count": 0, "amount": 0}
    events = published(db, "redemption_report.reconciled")
    assert [
        (event.report_id, event.outcomes) for event in events if isinstance(event, RedemptionReportReconciled)
    ] == [(uuid.UUID(answer["report_id"]), {"MATCHED": 1})]


def test_another_amount_is_an_amount_mismatch_an_operator_can_resolve(
    client: TestClient, tokens: dict[str, str], payments: Payments, db: Engine
) -> None:
    issued, code = payments.redeemed(30_000)

    answer = imported(client, tokens["operator"], report(("BOUTIQUE-KATI-01", code, 35_000)))

    assert answer["outcomes"] == {"AMOUNT_MISMATCH": 1}
    [found] = discrepancies(client, tokens["auditor"], "AMOUNT_MISMATCH")
    assert (found["severity"], found["amount_at_stake"], found["instruction_id"], found["status"]) == (
        "critical",
        5_000,
        issued.instruction_id,
        "open",
    )
    assert "35000 XOF" in found["suggested_action"]
    assert (found["report_id"], found["report_position"]) == (answer["report_id"], 0)
    found_events = [
        event for event in published(db, "discrepancies.found") if isinstance(event, DiscrepanciesFound)
    ]
    assert [item.category for event in found_events for item in event.items] == ["AMOUNT_MISMATCH"]
    block = vouchers_block(client, tokens["auditor"])
    assert (block["reported"], block["report_differs"]) == (
        {"count": 1, "amount": 35_000},
        {"count": 1, "amount": 30_000},
    )

    resolved = client.post(
        f"/v1/discrepancies/{found['discrepancy_id']}/resolution",
        json={"reason": "vendor typo, corrected report received"},
        headers=bearer(tokens["operator"]),
    )

    assert resolved.status_code == 200, resolved.text
    assert discrepancies(client, tokens["auditor"], "AMOUNT_MISMATCH")[0]["status"] == "resolved"


def test_a_code_payments_never_redeemed_is_an_unknown_reference_on_the_report(
    client: TestClient, tokens: dict[str, str], payments: Payments
) -> None:
    payments.issue(25_000)  # issued, never redeemed: its code is not the one reported
    stranger = new_voucher_code()

    answer = imported(client, tokens["operator"], report(("BOUTIQUE-KATI-01", stranger, 25_000)))

    assert answer["outcomes"] == {"UNKNOWN_REFERENCE": 1}
    seen = client.get(
        f"/v1/redemption-reports/{answer['report_id']}", headers=bearer(tokens["auditor"])
    ).json()
    [found] = seen["discrepancies"]
    assert (found["category"], found["severity"], found["amount_at_stake"], found["cycle_id"]) == (
        "UNKNOWN_REFERENCE",
        "critical",
        25_000,
        None,
    )
    assert seen["lines"][0]["code"] == stranger
    assert seen["lines"][0]["outcome"] == "UNKNOWN_REFERENCE"


def test_a_voucher_reported_by_a_vendor_who_did_not_redeem_it_is_an_unknown_reference_of_its_cycle(
    client: TestClient, tokens: dict[str, str], payments: Payments
) -> None:
    _, code = payments.redeemed(30_000, vendor="BOUTIQUE-KATI-01")

    answer = imported(client, tokens["operator"], report(("ALIMENTATION-SEGOU-02", code, 30_000)))

    assert answer["outcomes"] == {"UNKNOWN_REFERENCE": 1}
    [found] = discrepancies(client, tokens["auditor"], "UNKNOWN_REFERENCE")
    assert "redeemed by vendor BOUTIQUE-KATI-01" in found["suggested_action"]
    assert vouchers_block(client, tokens["auditor"])["awaiting_report"] == {"count": 1, "amount": 30_000}


def test_a_code_reported_twice_in_one_report_or_in_two_is_a_duplicate_settlement(
    client: TestClient, tokens: dict[str, str], payments: Payments
) -> None:
    _, twice_in_one = payments.redeemed(30_000)
    _, across_two = payments.redeemed(20_000)

    first = imported(
        client,
        tokens["operator"],
        report(
            ("BOUTIQUE-KATI-01", twice_in_one, 30_000),
            ("BOUTIQUE-KATI-01", twice_in_one, 30_000),
            ("BOUTIQUE-KATI-01", across_two, 20_000),
        ),
    )
    second = imported(client, tokens["operator"], report(("BOUTIQUE-KATI-01", across_two, 20_000)))

    assert first["outcomes"] == {"DUPLICATE_SETTLEMENT": 1, "MATCHED": 2}
    assert second["outcomes"] == {"DUPLICATE_SETTLEMENT": 1}
    found = discrepancies(client, tokens["auditor"], "DUPLICATE_SETTLEMENT")
    assert sorted(item["amount_at_stake"] for item in found) == [20_000, 30_000]
    assert {item["severity"] for item in found} == {"critical"}
    block = vouchers_block(client, tokens["auditor"])
    assert block["report_differs"] == {"count": 2, "amount": 50_000}
    assert block["reported"] == {"count": 4, "amount": 100_000}


def test_a_redemption_missing_from_its_vendors_report_covering_its_day_is_found(
    client: TestClient, tokens: dict[str, str], payments: Payments
) -> None:
    _, reported = payments.redeemed(30_000)
    missing, _ = payments.redeemed(20_000)
    payments.redeemed(10_000, at=datetime(2026, 5, 3, 9, 0, tzinfo=UTC))  # after the period: awaited
    payments.redeemed(15_000, vendor="ALIMENTATION-SEGOU-02")  # another vendor's: awaited

    imported(
        client,
        tokens["operator"],
        report(
            ("BOUTIQUE-KATI-01", reported, 30_000), vendor="BOUTIQUE-KATI-01", period="01/04/2026;30/04/2026"
        ),
    )

    [found] = discrepancies(client, tokens["auditor"], "MISSING_FROM_SETTLEMENT")
    assert (found["instruction_id"], found["amount_at_stake"], found["severity"]) == (
        missing.instruction_id,
        20_000,
        "warning",
    )
    block = vouchers_block(client, tokens["auditor"])
    assert block["missing_from_reports"] == {"count": 1, "amount": 20_000}
    assert block["awaiting_report"] == {"count": 2, "amount": 25_000}
    parts = ("report_matched", "report_differs", "missing_from_reports", "awaiting_report")
    assert sum(block[name]["count"] for name in parts) == block["redeemed"]["count"]
    assert sum(block[name]["amount"] for name in parts) == block["redeemed"]["amount"]


def test_a_report_before_the_redemptions_it_lists_is_matched_once_they_arrive(
    client: TestClient, tokens: dict[str, str], payments: Payments
) -> None:
    issued, code = payments.issue(30_000)
    answer = imported(client, tokens["operator"], report(("BOUTIQUE-KATI-01", code, 30_000)))
    assert answer["outcomes"] == {"UNKNOWN_REFERENCE": 1}

    payments.redeem(issued, code)

    seen = client.get(
        f"/v1/redemption-reports/{answer['report_id']}", headers=bearer(tokens["auditor"])
    ).json()
    assert seen["lines"][0]["outcome"] == "MATCHED"
    assert seen["lines"][0]["voucher_id"] == str(issued.voucher_id)
    [superseded] = seen["discrepancies"]
    assert (superseded["category"], superseded["status"], superseded["resolved_by"]) == (
        "UNKNOWN_REFERENCE",
        "resolved",
        "reconciliation",
    )
    assert vouchers_block(client, tokens["auditor"])["report_matched"] == {"count": 1, "amount": 30_000}


def test_the_same_file_twice_is_refused_and_changes_nothing(
    client: TestClient, tokens: dict[str, str], payments: Payments, db: Engine
) -> None:
    _, code = payments.redeemed(30_000)
    body = report(("BOUTIQUE-KATI-01", code, 30_000))
    first = imported(client, tokens["operator"], body)

    def state() -> tuple[int, ...]:
        with db.connect() as connection:
            return tuple(
                connection.execute(
                    text(
                        "SELECT (SELECT count(*) FROM reconciliation.redemption_report),"
                        " (SELECT count(*) FROM reconciliation.redemption_line),"
                        " (SELECT count(*) FROM reconciliation.discrepancy),"
                        " (SELECT count(*) FROM reconciliation.outbox)"
                    )
                ).one()
            )

    before = state()
    again = post(client, tokens["operator"], body)

    assert again.status_code == 409
    assert again.json()["error"]["code"] == "duplicate_redemption_report"
    assert again.json()["error"]["details"]["report_id"] == first["report_id"]
    assert state() == before


def test_bad_rows_are_reported_with_their_reason_and_the_others_imported(
    client: TestClient, tokens: dict[str, str], payments: Payments
) -> None:
    _, code = payments.redeemed(30_000)
    mistyped = code[:-1] + str((int(code[-1]) + 1) % 10)
    body = f"{HEADER}\nBOUTIQUE-KATI-01;{code};30 000;02/04/2026;10:15;R-1\nBOUTIQUE-KATI-01;{mistyped};30 000;02/04/2026;;R-2\n"

    answer = imported(client, tokens["operator"], body.encode())

    assert answer["outcomes"] == {"MATCHED": 1}
    assert [(row["row"], "check digit" in row["reason"]) for row in answer["rejected"]] == [(3, True)]
    seen = client.get(
        f"/v1/redemption-reports/{answer['report_id']}", headers=bearer(tokens["auditor"])
    ).json()
    assert seen["rejected"] == answer["rejected"]
    assert seen["line_count"] == 1


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"Commer\xc3\xa7ant;Bon;Somme\nV;1;2\n", 422, "unreadable_redemption_report"),
        (
            f"{HEADER};Couleur\nV;{'1' * 16};1;02/04/2026;;R;bleu\n".encode(),
            422,
            "unreadable_redemption_report",
        ),
        (f"Devise;EUR\n{HEADER}\nV;{'1' * 16};1;02/04/2026;;R\n".encode(), 422, "wrong_currency"),
    ],
    ids=["no-header", "unknown-column", "currency"],
)
def test_a_malformed_report_is_refused_whole_with_a_json_reason(
    client: TestClient, tokens: dict[str, str], db: Engine, body: bytes, status: int, code: str
) -> None:
    answer = post(client, tokens["operator"], body)

    assert answer.status_code == status
    assert answer.json()["error"]["code"] == code
    assert answer.json()["error"]["message"]
    with db.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM reconciliation.redemption_report")).scalar() == 0


def test_a_report_over_the_size_limit_is_refused_with_413_declared_or_streamed(
    db: Engine, settings: Settings, tokens: dict[str, str]
) -> None:
    body = report(*[("V", new_voucher_code(), 1_000) for _ in range(10)])

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 100):
            yield body[start : start + 100]

    with TestClient(create_app(settings.model_copy(update={"max_body_bytes": 256}), db)) as small:
        declared = post(small, tokens["operator"], body)
        streamed = small.post("/v1/redemption-reports", content=chunks(), headers=bearer(tokens["operator"]))

    assert (declared.status_code, declared.json()["error"]["code"]) == (413, "payload_too_large")
    assert (streamed.status_code, streamed.json()["error"]["code"]) == (413, "redemption_report_too_large")
    with db.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM reconciliation.redemption_report")).scalar() == 0


@pytest.mark.parametrize(
    ("role", "may"),
    [
        ("operator", True),
        ("admin", True),
        ("auditor", False),
        ("approver", False),
        ("provider:simulator", False),
        ("vendor:v1", False),
    ],
)
def test_operators_and_admins_import_reports_and_nobody_else(
    client: TestClient, tokens: dict[str, str], role: str, may: bool
) -> None:
    status = post(client, tokens[role], report(("v1", new_voucher_code(), 1_000))).status_code

    assert status == 201 if may else status == 403


@pytest.mark.parametrize(
    ("role", "may"),
    [
        ("auditor", True),
        ("operator", True),
        ("admin", True),
        ("approver", False),
        ("provider:simulator", False),
        ("vendor:v1", False),
    ],
)
def test_auditors_operators_and_admins_read_a_report_and_vendors_do_not(
    client: TestClient, tokens: dict[str, str], role: str, may: bool
) -> None:
    report_id = imported(client, tokens["operator"], report(("v1", new_voucher_code(), 1_000)))["report_id"]

    status = client.get(f"/v1/redemption-reports/{report_id}", headers=bearer(tokens[role])).status_code

    assert status == 200 if may else status == 403


def test_an_unknown_report_is_404_and_reading_needs_a_token(
    client: TestClient, tokens: dict[str, str]
) -> None:
    assert (
        client.get(f"/v1/redemption-reports/{uuid.uuid4()}", headers=bearer(tokens["auditor"])).status_code
        == 404
    )
    assert client.get(f"/v1/redemption-reports/{uuid.uuid4()}").status_code == 401
    assert client.post("/v1/redemption-reports", content=b"x").status_code == 401


def test_the_import_is_an_audited_action(
    client: TestClient, tokens: dict[str, str], payments: Payments, db: Engine
) -> None:
    _, code = payments.redeemed(30_000)

    answer = imported(client, tokens["operator"], report(("BOUTIQUE-KATI-01", code, 30_000)))

    actions = [
        event for event in published(db, "audit.recorded") if event.action == "redemption_report.import"
    ]
    assert [(event.actor, event.subject, event.after["outcomes"]) for event in actions] == [
        ("operator-user", f"redemption_report/{answer['report_id']}", {"MATCHED": 1})
    ]


def test_every_export_carries_the_summary_voucher_block(
    client: TestClient, tokens: dict[str, str], payments: Payments
) -> None:
    _, matched = payments.redeemed(30_000)
    _, differs = payments.redeemed(20_000)
    payments.redeemed(10_000)  # redeemed on a day the report covers, and absent from it
    imported(
        client,
        tokens["operator"],
        report(
            ("BOUTIQUE-KATI-01", matched, 30_000),
            ("BOUTIQUE-KATI-01", differs, 25_000),
            ("X", new_voucher_code(), 5_000),
        ),
    )
    summary = client.get(f"/v1/cycles/{CYCLE}/reconciliation", headers=bearer(tokens["auditor"])).json()

    as_json = client.get(f"/v1/cycles/{CYCLE}/report.json", headers=bearer(tokens["auditor"])).json()
    as_xlsx = client.get(f"/v1/cycles/{CYCLE}/report.xlsx", headers=bearer(tokens["auditor"]))

    assert as_json["summary"] == summary
    assert summary["vouchers"]["reported"] == {"count": 2, "amount": 55_000}
    assert summary["vouchers"]["report_matched"] == {"count": 1, "amount": 30_000}
    assert summary["vouchers"]["report_differs"] == {"count": 1, "amount": 20_000}
    rows = list(load_workbook(io.BytesIO(as_xlsx.content))["Summary"].iter_rows(values_only=True))
    at = rows.index(("vouchers", "count", "amount", None))
    from_sheet = {row[0]: {"count": row[1], "amount": row[2]} for row in rows[at + 1 :] if row and row[0]}
    assert from_sheet == summary["vouchers"]
    assert summary["vouchers"]["missing_from_reports"] == {"count": 1, "amount": 10_000}
    categories = sorted(item["category"] for item in as_json["discrepancies"])
    assert categories == ["AMOUNT_MISMATCH", "MISSING_FROM_SETTLEMENT"]


def test_filet_redemptions_import_sends_the_file_and_prints_the_outcomes(
    client: TestClient,
    tokens: dict[str, str],
    payments: Payments,
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, code = payments.redeemed(30_000)
    path = tmp_path / "kati-avril.csv"
    path.write_bytes(report(("BOUTIQUE-KATI-01", code, 30_000)))
    monkeypatch.setattr("filet.reconciliation_commands.httpx.Client", lambda **_: nullcontext(client))

    result = CliRunner().invoke(redemptions, ["import", str(path), "--token", tokens["operator"]])

    assert result.exit_code == 0, result.output
    assert "1 lines" in result.output
    assert "MATCHED" in result.output
