"""The whole journey over the public HTTP APIs: register, enrol, pay, reconcile (the demo and the e2e tests).

Every step is a call a payment operator, an approver, an auditor or a vendor makes. Nothing here touches a
database but `mint_token`, for what no route offers on purpose: minting a vendor's token is an
administrator's act at the command line (`filet tokens create`), which it does in-process.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from shared.auth import TokenStore
from shared.db import build_engine

Progress = Callable[[str, int, int], None]
TERMINAL_STATES = ("SUCCEEDED", "FAILED", "REJECTED", "CANCELLED", "REVERSED")


class JourneyError(RuntimeError):
    """A step did not end as it should; the message says which and why."""


def _quiet(stage: str, done: int, total: int) -> None:
    return None


@dataclass
class Journey:
    urls: dict[str, str]
    tokens: dict[str, str]
    #: Reads wait long: at 200,000 households a cycle is created and released in one synchronous request each.
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=httpx.Timeout(60, read=900)))
    progress: Progress = _quiet

    # --- plumbing ----------------------------------------------------------------------------------------

    def call(
        self,
        method: str,
        service: str,
        path: str,
        *,
        as_: str = "operator",
        expect: Iterable[int] = (200, 201, 202),
        **options: Any,
    ) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[as_]}", **options.pop("headers", {})}
        url = f"{self.urls[service]}{path}"
        try:
            answer = self.client.request(method, url, headers=headers, **options)
        except (httpx.ReadError, httpx.RemoteProtocolError):
            # Most likely a kept-alive connection the server closed (idle for its 5 s) just as it was reused;
            # the progress polls pause up to 19 times their last duration, so on a busy machine they do. A
            # read is harmless to ask again, on a new connection; a write is not asked again here.
            if method != "GET":
                raise
            answer = self.client.request(method, url, headers=headers, **options)
        if answer.status_code not in set(expect):
            raise JourneyError(f"{method} {service}{path} answered {answer.status_code}: {answer.text[:500]}")
        if not answer.content:
            return None
        if answer.headers.get("content-type", "").startswith("application/json"):
            return answer.json()
        return answer.content

    def wait(self, what: str, done: Callable[[], bool], *, timeout: float = 300, every: float = 0.25) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if done():
                return
            time.sleep(every)
        raise JourneyError(f"timed out after {timeout:.0f} s waiting for {what}")

    # --- enrolment ---------------------------------------------------------------------------------------

    def import_households(self, csv_file: Path) -> dict[str, Any]:
        """Upload an RSU file as an import job and follow it to its end; returns the job with its counts."""
        job = self.call(
            "POST",
            "enrolment",
            "/v1/household-imports",
            content=csv_file.read_bytes(),
            headers={"Content-Type": "text/csv", "Idempotency-Key": f"import-{csv_file.stat().st_mtime_ns}"},
        )
        state: dict[str, Any] = job

        def finished() -> bool:
            nonlocal state
            state = self.call(
                "GET", "enrolment", f"/v1/household-imports/{job['id']}?limit=20&outcome=rejected"
            )
            self.progress("import", state["rows_done"], state["rows_total"] or 0)
            return state["status"] in ("completed", "failed", "rolled_back")

        self.wait("the household import", finished, timeout=600)
        if state["status"] != "completed":
            raise JourneyError(f"the import ended {state['status']}: {state.get('error')}")
        return state

    def create_programme(self, body: dict[str, Any]) -> dict[str, Any]:
        existing = self.call("GET", "enrolment", "/v1/programmes", as_="auditor")
        for programme in existing:
            if programme["code"] == body["code"]:
                return dict(programme)
        return dict(self.call("POST", "enrolment", "/v1/programmes", json=body))

    def enrol(
        self, programme: str, *, filter: dict[str, Any], temporary: dict[str, Any] | None = None
    ) -> int:
        body: dict[str, Any] = {"programme": programme, "filter": filter}
        if temporary:
            body["temporary"] = temporary
        return int(self.call("POST", "enrolment", "/v1/enrolments", json=body)["enrolled"])

    def move(self, programme: str, status: str, action: str, **extra: Any) -> int:
        """Move every enrolment of `programme` in `status` (bulk transition); returns how many moved."""
        body = {"action": action, "selection": {"programme": programme, "status": status}, **extra}
        return int(self.call("POST", "enrolment", "/v1/enrolments/transitions", json=body)["moved"])

    def validate_and_activate(self, programme: str, *, who: str, where: str) -> int:
        self.move(programme, "registered", "target")
        self.move(
            programme,
            "targeted",
            "validate",
            validation={"who": who, "when": datetime.now(UTC).isoformat(), "where": where},
        )
        return self.move(programme, "validated", "activate")

    def overlaps(self) -> dict[str, Any]:
        return dict(self.call("GET", "enrolment", "/v1/reports/overlaps", as_="auditor"))

    # --- payments ----------------------------------------------------------------------------------------

    def define_scheme(self, body: dict[str, Any]) -> None:
        schemes = self.call("GET", "payments", "/v1/schemes", as_="auditor")
        if not any(scheme["programme_code"] == body["programme_code"] for scheme in schemes):
            self.call("POST", "payments", "/v1/schemes", json=body)

    def wait_for_beneficiaries(self, programme: str, active: int, *, timeout: float = 300) -> None:
        """Payments learns enrolments only from events: wait until its projection has them all."""

        def arrived() -> bool:
            summary = self.call("GET", "payments", f"/v1/programmes/{programme}/memberships", as_="auditor")
            self.progress(f"events → payments ({programme})", summary["active"], active)
            return int(summary["active"]) >= active

        self.wait(
            f"payments to learn the {active} active households of {programme}", arrived, timeout=timeout
        )

    def run_cycle(
        self,
        programme: str,
        period: str,
        *,
        funding_line: str,
        top_ups: list[dict[str, Any]] = (),  # type: ignore[assignment]
        refocus: dict[str, Any] | None = None,
        piggyback_of: str | None = None,
    ) -> dict[str, Any]:
        """Create, top up, submit (operator), approve (a second person, approver), release (operator)."""
        body: dict[str, Any] = {"programme_code": programme, "period": period, "funding_line": funding_line}
        if refocus:
            body["refocus"] = refocus
        if piggyback_of:
            body["piggyback_of"] = piggyback_of
        cycle = self.call(
            "POST", "payments", "/v1/cycles", json=body, headers={"Idempotency-Key": f"{programme}-{period}"}
        )
        for top_up in top_ups:
            self.call("POST", "payments", f"/v1/cycles/{cycle['id']}/top-ups", json=top_up)
        self.call("POST", "payments", f"/v1/cycles/{cycle['id']}/submission")
        self.call("POST", "payments", f"/v1/cycles/{cycle['id']}/approval", as_="approver")
        return dict(self.call("POST", "payments", f"/v1/cycles/{cycle['id']}/release"))

    def cycle(self, cycle_id: str) -> dict[str, Any]:
        return dict(self.call("GET", "payments", f"/v1/cycles/{cycle_id}", as_="auditor"))

    def wait_until_paid(self, cycle_id: str, *, timeout: float = 900) -> dict[str, Any]:
        """Follow the dispatcher and the callbacks until every payment of the cycle is terminal; returns the
        cycle with its full summary."""
        took = 0.0

        def closed() -> bool:
            nonlocal took
            # The cycle's progress counts its payments by state (~0.3 s at 200,000; the full view took ~1.4 s):
            # asked after a pause of nineteen times its last duration, following the cycle costs the database
            # at most a twentieth of one core.
            time.sleep(19 * took)
            asked = time.monotonic()
            progress = self.call("GET", "payments", f"/v1/cycles/{cycle_id}/progress", as_="auditor")
            took = time.monotonic() - asked
            total = int(progress["payments"]["count"])
            self.progress("payments", total - int(progress["open"]), total)
            return bool(progress["state"] == "closed")

        self.wait("every payment to be terminal", closed, timeout=timeout, every=0.5)
        return self.cycle(cycle_id)

    # --- vouchers and vendors ----------------------------------------------------------------------------

    def register_vendor(self, vendor_id: str, *, name: str, programmes: list[str]) -> None:
        """Register a shop for some programmes (operator); its staff then hold tokens `vendor:<vendor_id>`."""
        body = {"vendor_id": vendor_id, "name": name, "programme_codes": programmes}
        self.call(
            "POST", "payments", "/v1/vendors", json=body, headers={"Idempotency-Key": f"vendor-{vendor_id}"}
        )

    def redeem_vouchers(self, codes: Sequence[str], *, vendor: str) -> list[dict[str, Any]]:
        """A vendor serves households one after another (`vendor` names its token): it looks each voucher up,
        then redeems it for its face value; returns the vouchers as redeemed (with `redeemed_at`)."""
        redeemed = []
        for done, code in enumerate(codes, start=1):
            voucher = self.call("GET", "payments", f"/v1/vouchers/{code}", as_=vendor)
            if voucher["state"] != "ISSUED":
                raise JourneyError(f"voucher {code} is {voucher['state']}, not ISSUED")
            redeemed.append(
                self.call(
                    "POST",
                    "payments",
                    f"/v1/vouchers/{code}/redemptions",
                    as_=vendor,
                    json={"amount": voucher["amount"]},
                    headers={"Idempotency-Key": f"redeem-{code}"},
                )
            )
            self.progress(f"vouchers redeemed at {vendor}", done, len(codes))
        return redeemed

    def wait_for_vouchers(
        self, cycle_id: str, *, issued: int, redeemed: int = 0, timeout: float = 120
    ) -> dict[str, Any]:
        """Reconciliation learns vouchers from payments' events: wait until its summary counts them."""
        block: dict[str, Any] = {}

        def arrived() -> bool:
            nonlocal block
            summary = self.call(
                "GET",
                "reconciliation",
                f"/v1/cycles/{cycle_id}/reconciliation",
                as_="auditor",
                expect=(200, 404),
            )
            block = (summary.get("vouchers") or {}) if isinstance(summary, dict) else {}
            counted = (block.get("issued", {}).get("count", 0), block.get("redeemed", {}).get("count", 0))
            return counted == (issued, redeemed)

        self.wait(
            f"reconciliation to count {issued} vouchers issued and {redeemed} redeemed",
            arrived,
            timeout=timeout,
        )
        return block

    # --- reconciliation ----------------------------------------------------------------------------------

    def import_statement(self, body: bytes, *, content_type: str) -> dict[str, Any]:
        return dict(
            self.call(
                "POST",
                "reconciliation",
                "/v1/statements",
                content=body,
                headers={"Content-Type": content_type},
            )
        )

    def import_redemption_report(self, body: bytes) -> dict[str, Any]:
        """A vendor's redemption report (CSV), imported by an operator; returns its lines per outcome."""
        return dict(
            self.call(
                "POST",
                "reconciliation",
                "/v1/redemption-reports",
                content=body,
                headers={"Content-Type": "text/csv"},
            )
        )

    def wait_for_reconciliation(
        self, cycle_id: str, paid: Mapping[str, Any], *, timeout: float = 300
    ) -> dict[str, Any]:
        """Reconciliation learns payments' states from events: wait until it knows every payment of the cycle in
        the state payments shows (`paid`: the cycle as `wait_until_paid` returns it), then return its summary."""
        expected = {
            state.lower(): int(figures["count"])
            for state, figures in paid["summary"]["by_state"].items()
            if state not in ("ENTITLED", "BLOCKED")  # lines that never became payments
        }
        summary: dict[str, Any] = {}

        def caught_up() -> bool:
            nonlocal summary
            path = f"/v1/cycles/{cycle_id}/reconciliation"
            answer = self.call("GET", "reconciliation", path, as_="auditor", expect=(200, 404))
            summary = dict(answer) if isinstance(answer, dict) else {}
            return summary.get("payment_states") == expected

        self.wait(f"reconciliation to know the {sum(expected.values())} payments as payments does", caught_up)
        return summary

    def reconciliation(self, cycle_id: str) -> dict[str, Any]:
        return dict(
            self.call("GET", "reconciliation", f"/v1/cycles/{cycle_id}/reconciliation", as_="auditor")
        )

    def discrepancies(self, cycle_id: str) -> list[dict[str, Any]]:
        answer = self.call("GET", "reconciliation", f"/v1/cycles/{cycle_id}/discrepancies", as_="auditor")
        return list(answer["items"])

    def report(self, cycle_id: str, extension: str, *, as_: str = "auditor") -> bytes:
        content = self.call("GET", "reconciliation", f"/v1/cycles/{cycle_id}/report.{extension}", as_=as_)
        return content if isinstance(content, bytes) else str(content).encode()


# --- vendors' reports ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportedRedemption:
    """One line of a vendor's report: what the vendor says it redeemed (the amount may be wrong)."""

    code: str
    amount: int
    redeemed_at: datetime
    receipt: str


def vendor_redemption_report(vendor_id: str, lines: Sequence[ReportedRedemption]) -> bytes:
    """A vendor's report in the programme's format (README, *Vendors' voucher redemption reports*): a
    preamble naming the vendor, the period of its lines and the currency, the lines, then the totals."""
    days = [line.redeemed_at.astimezone(UTC).date() for line in lines]
    rows = [
        "Rapport de remboursement des bons",
        f"Commerçant;{vendor_id}",
        f"Période;{min(days):%d/%m/%Y};{max(days):%d/%m/%Y}",
        "Devise;XOF",
        "Commerçant;Code du bon;Montant;Date;Heure;N° de reçu",
    ]
    for line in lines:
        moment = line.redeemed_at.astimezone(UTC)
        rows.append(
            f"{vendor_id};{_grouped(line.code)};{_francs(line.amount)};{moment:%d/%m/%Y};{moment:%H:%M};"
            f"{line.receipt}"
        )
    rows += [f"Nombre de bons;{len(lines)}", f"Total;{_francs(sum(line.amount for line in lines))}"]
    return ("\n".join(rows) + "\n").encode()


def _grouped(code: str) -> str:
    """A voucher code as printed on the voucher: its 16 digits in groups of four."""
    digits = code.replace("-", "")
    return "-".join(digits[start : start + 4] for start in range(0, len(digits), 4))


def _francs(amount: int) -> str:
    """Whole francs written the French way: `45 000`."""
    return f"{amount:,}".replace(",", " ")


# --- stand-ins for what no route offers ------------------------------------------------------------------


@dataclass(frozen=True)
class VoucherSlip:
    """One line of a cycle's voucher distribution list: the code handed to a household, and where it lives."""

    code: str
    amount: int
    household_id: str
    region: str
    commune: str


def mint_token(database_url: str, *, name: str, role: str) -> str:
    """A bearer token for `role` (e.g. `vendor:<id>`), as `filet tokens create` mints one."""
    engine = build_engine(database_url, pool_size=1, application_name="filet-journey")
    try:
        return TokenStore(engine).create(name=name, role=role)
    finally:
        engine.dispose()


def voucher_slips(journey: Journey, cycle_id: str) -> list[VoucherSlip]:
    """The cycle's voucher distribution list, as an operator reads it (`GET /v1/cycles/{id}/vouchers`)."""
    slips: list[VoucherSlip] = []
    while True:
        page = journey.call(
            "GET",
            "payments",
            f"/v1/cycles/{cycle_id}/vouchers",
            params={"limit": 1000, "offset": len(slips)},
        )
        slips += [
            VoucherSlip(
                item["code"], int(item["amount"]), item["household_id"], item["region"], item["commune"]
            )
            for item in page["items"]
        ]
        if not page["items"] or len(slips) >= page["total"]:
            return slips
