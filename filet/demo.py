"""`make demo`: the whole system on the embedded default, one quarter of Jigisemejiri paid and reconciled, and
the cadre commun's vouchers redeemed at shops in the north and matched against a vendor's report.

Runs in a fresh workspace (`.filet/demo/`, wiped at the start), so running it again works.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from filet.embedded import EmbeddedError
from filet.journey import (
    Journey,
    JourneyError,
    ReportedRedemption,
    mint_token,
    vendor_redemption_report,
    voucher_slips,
)
from filet.processes import kill_tree_on_exit
from filet.registry_sample import generate
from filet.stack import Stack
from shared.settings import Settings

console = Console(highlight=False)

SOUTH = ["Kayes", "Koulikoro", "Sikasso", "Ségou", "Mopti"]
NORTH = ["Gao", "Tombouctou"]
JIGISEMEJIRI = "JIGISEMEJIRI"
CADRE_COMMUN = "CADRE_COMMUN"
PERIOD = "2026-Q1"
#: One registered shop per northern region; households take their voucher to the shop of their region.
SHOPS = {
    "Gao": ("BOUTIQUE-GAO-01", "Boutique Alhousseini Maïga, grand marché de Gao"),
    "Tombouctou": ("MAGASIN-TOMBOUCTOU-01", "Magasin Fatouma Cissé, Tombouctou"),
}
#: The share of households that come to a shop in the first days after the vouchers are handed out.
REDEEMED_PERCENT = 60
FLAG_MEANINGS = {
    "no_msisdn": "held back: no mobile number (a voucher household in a mobile-money scheme)",
    "no_provider": "held back: no provider routed for the household's operator",
    "overlap": "also active in another programme this period (policy: flag)",
}


def run_demo(*, households: int, data_dir: Path) -> int:
    """Returns the process exit code."""
    workspace = (data_dir / "demo").resolve()
    shutil.rmtree(workspace, ignore_errors=True)  # a fresh workspace every run: running it again works
    stack = Stack(Settings(), workspace)
    kill_tree_on_exit()
    started = time.monotonic()
    try:
        with console.status("starting PostgreSQL, the broker, three services and the provider simulator …"):
            stack.start()
        console.print(f"[green]✓[/] system up in {time.monotonic() - started:.0f} s  (workspace {workspace})")
        _journey(stack, households, workspace)
        console.print(f"\n[green]✓ demo finished in {time.monotonic() - started:.0f} s[/]")
        return 0
    except (EmbeddedError, JourneyError) as error:
        console.print(f"[red]demo failed:[/] {error}")
        console.print(f"process logs: {workspace / 'logs'}")
        return 1
    except KeyboardInterrupt:
        console.print("interrupted")
        return 130
    finally:
        with console.status("stopping every process …"):
            stack.stop()
        console.print("[green]✓[/] stopped")


def _journey(stack: Stack, households: int, workspace: Path) -> None:
    urls = {name: stack.url(name) for name in ("enrolment", "payments", "reconciliation", "simulator")}
    with _bars() as (bars, progress):
        journey = Journey(urls, stack.tokens, progress=progress)
        _register(journey, households, workspace, bars)
        _enrol(journey, bars)
        cycle = _pay(journey, stack, bars)
    _reconcile(journey, stack, cycle, workspace)
    with _bars() as (bars, progress):
        journey.progress = progress
        _vouchers(journey, stack, workspace, bars)


@contextmanager
def _bars() -> Iterator[tuple[Progress, Callable[[str, int, int], None]]]:
    """Progress bars, one per stage a step reports, and the function the journey reports to."""
    with Progress(
        TextColumn("{task.description:<38}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as bars:
        tasks: dict[str, Any] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bars.add_task(stage, total=total or None)
            bars.update(tasks[stage], completed=done, total=total or None)

        yield bars, progress


def _step(title: str) -> None:
    console.rule(f"[bold]{title}")


def _register(journey: Journey, households: int, workspace: Path, bars: Progress) -> None:
    _step(f"1. The social registry: {households:,} households from an RSU file")
    registry = workspace / "rsu.csv"
    truth = generate(households, registry, seed=2026, duplicate_percent=3, bad_percent=1)
    bars.console.print(
        f"generated {registry.name}: {households:,} rows over Mali's regions, with "
        f"{len(truth['duplicates'])} planted duplicates and {len(truth['bad'])} bad rows"
    )
    job = journey.import_households(registry)
    report = Table(title="import report", show_header=False)
    for label, key in (("rows", "rows_done"), ("accepted", "accepted"), ("rejected", "rejected")):
        report.add_row(label, f"{job[key]:,}")
    report.add_row("possible duplicates (review queue)", f"{job['duplicates']:,}")
    bars.console.print(report)
    for row in job["rows"][:3]:
        bars.console.print(f"  rejected row {row['row_number']}: {row.get('field')} — {row.get('reason')}")


def _enrol(journey: Journey, bars: Progress) -> None:
    _step("2. Programmes, targeting and community validation")
    journey.create_programme(
        {
            "code": JIGISEMEJIRI,
            "name": "Jigisemejiri — filets sociaux",
            "zone": [*({"region": region} for region in SOUTH), {"region": "Gao", "cercle": "Gao"}],
            "duration_months": 36,
            "targeting_method": "pmt",
        }
    )
    journey.create_programme(
        {
            "code": CADRE_COMMUN,
            "name": "Cadre commun — transferts saisonniers (nord)",
            "zone": [{"region": region} for region in NORTH],
            "duration_months": 12,
            "targeting_method": "hea",
        }
    )
    for region in SOUTH:
        journey.enrol(JIGISEMEJIRI, filter={"region": region, "max_pmt_score": 4000})
    # Jigisemejiri extended into the cercle of Gao, where the cadre commun already pays: the overlap.
    journey.enrol(JIGISEMEJIRI, filter={"region": "Gao", "cercle": "Gao", "max_pmt_score": 4000})
    for region in NORTH:
        journey.enrol(CADRE_COMMUN, filter={"region": region, "hea_categories": ["very_poor", "poor"]})
    active_j = journey.validate_and_activate(
        JIGISEMEJIRI, who="comités villageois", where="assemblées villageoises des communes"
    )
    active_c = journey.validate_and_activate(
        CADRE_COMMUN, who="comités de ciblage communautaire", where="assemblées de village, Gao et Tombouctou"
    )
    bars.console.print(
        f"Jigisemejiri (PMT ≤ 40.00, south and the cercle of Gao): {active_j:,} households active after validation"
    )
    bars.console.print(f"cadre commun (HEA very poor/poor, north): {active_c:,} households active")

    _step("3. A flood in Mopti: temporary enrolment (horizontal) and a top-up (vertical)")
    flood = journey.call("GET", "enrolment", "/v1/households?region=Mopti&limit=500", as_="auditor")["items"]
    places = sorted({(household["cercle"], household["commune"]) for household in flood})[:2]
    communes = [commune for _, commune in places]
    temporary = 0
    for cercle, commune in places:
        temporary += journey.enrol(
            JIGISEMEJIRI,
            filter={"region": "Mopti", "cercle": cercle, "commune": commune},
            temporary={"shock": "inondations Mopti 2026", "max_cycles": 2},
        )
    journey.validate_and_activate(
        JIGISEMEJIRI, who="comité de crise", where="mairie de " + ", ".join(communes)
    )
    bars.console.print(
        f"flooded communes {', '.join(communes)}: {temporary} households enrolled for 2 cycles"
    )
    overlaps = journey.overlaps()
    communes_overlapping = ", ".join(
        f"{row.get('commune')} ({row.get('households')})" for row in overlaps["by_commune"][:5]
    )
    bars.console.print(
        f"households active in both Jigisemejiri and the cadre commun: {overlaps['households']}"
        + (f" — {communes_overlapping}" if communes_overlapping else "")
    )
    journey.flood_communes = communes  # type: ignore[attr-defined]


def _pay(journey: Journey, stack: Stack, bars: Progress) -> dict[str, Any]:
    """Returns the cycle once every payment is terminal."""
    _step("4. Payments: a scheme, the quarterly cycle, maker–checker, release through the providers")
    routing = {"orange": "gsma", "moov": "mtn", "other": "wave"}
    journey.define_scheme(
        {
            "programme_code": JIGISEMEJIRI,
            "reference_code": "J",
            "first_period": PERIOD,
            "modality": "mobile_money",
            "basis": {"kind": "monthly_rate", "monthly_amount": 10_000, "every_months": 3},
            "cycles": 12,
            "routing": routing,
        }
    )
    enrolled = journey.call("GET", "enrolment", f"/v1/programmes/{JIGISEMEJIRI}", as_="auditor")["enrolled"]
    journey.wait_for_beneficiaries(JIGISEMEJIRI, enrolled)
    httpx.patch(
        f"{stack.url('simulator')}/_admin/behaviour",
        json={
            "all": {
                "failures": {"RECIPIENT_NOT_FOUND": 0.02},
                "duplicate_callbacks": 0.05,
                "late_callbacks": {"rate": 0.05, "delay_ms": 2000},
                "reversals": {"rate": 0.005, "delay_ms": 500},
            }
        },
        timeout=10,
    ).raise_for_status()
    communes = getattr(journey, "flood_communes", [])
    top_ups = [{"area": {"communes": communes}, "multiplier_percent": 150}] if communes else []
    cycle = journey.run_cycle(JIGISEMEJIRI, PERIOD, funding_line="IDA — Jigisemejiri 2026", top_ups=top_ups)
    planned = cycle["summary"]["total"]
    bars.console.print(
        f"cycle {PERIOD}: {planned['count']:,} payments, {planned['amount']:,} XOF; "
        f"created by operator, approved by approver, released"
    )
    final = journey.wait_until_paid(cycle["id"])
    table = Table(title=f"Jigisemejiri {PERIOD}: payments by state")
    table.add_column("state")
    table.add_column("count", justify="right")
    table.add_column("XOF", justify="right")
    for state, figures in sorted(final["summary"]["by_state"].items()):
        table.add_row(state, f"{figures['count']:,}", f"{figures['amount']:,}")
    bars.console.print(table)
    for flag, count in final["summary"].get("flags", {}).items():
        meaning = FLAG_MEANINGS.get(flag.split(":")[0], "")
        bars.console.print(f"  flagged {flag}: {count} {meaning}")
    return final


def _reconcile(journey: Journey, stack: Stack, paid: dict[str, Any], workspace: Path) -> None:
    cycle_id = str(paid["id"])
    _step("5. Reconciliation against what the providers really did")
    simulator = stack.url("simulator")
    for dialect in ("gsma", "mtn", "wave"):
        config = httpx.get(f"{simulator}/_admin/config", timeout=10).json()
        account = config["accounts"][dialect]["id"]
        journey.call(
            "POST",
            "reconciliation",
            "/v1/accounts",
            json={"account_id": account, "provider": dialect},
            expect=(200, 201, 409),
        )
        camt = httpx.get(f"{simulator}/_admin/statements/camt053", params={"account": account}, timeout=60)
        camt.raise_for_status()
        imported = journey.import_statement(camt.content, content_type="application/xml")
        for statement in imported["statements"]:
            outcomes = ", ".join(f"{name} {count}" for name, count in sorted(statement["outcomes"].items()))
            console.print(f"camt.053 of {statement['account_id']}: {statement['lines']} lines — {outcomes}")
    summary = journey.wait_for_reconciliation(cycle_id, paid)
    table = Table(title=f"reconciliation of Jigisemejiri {PERIOD} (what auditors see)")
    for column in ("", "count", "instructed XOF", "settled XOF"):
        table.add_column(column, justify="right" if column else "left")
    for bucket, figures in summary.get("total", {}).items():
        if isinstance(figures, dict):
            table.add_row(
                bucket, f"{figures['count']:,}", f"{figures['amount']:,}", f"{figures['settled_amount']:,}"
            )
    console.print(table)
    reports = workspace / "reports"
    reports.mkdir(exist_ok=True)
    for extension in ("csv", "xlsx"):
        path = reports / f"jigisemejiri-{PERIOD}.{extension}"
        path.write_bytes(journey.report(cycle_id, extension))
        console.print(f"[green]✓[/] auditor report written: {path}")


def _vouchers(journey: Journey, stack: Stack, workspace: Path, bars: Progress) -> None:
    _step("6. Vouchers in the north: redeemed at shops, matched to a vendor's report")
    journey.define_scheme(
        {
            "programme_code": CADRE_COMMUN,
            "reference_code": "CC",
            "first_period": PERIOD,
            "modality": "voucher",
            "basis": {"kind": "monthly_rate", "monthly_amount": 15_000, "every_months": 3},
            "cycles": 4,
        }
    )
    enrolled = journey.call("GET", "enrolment", f"/v1/programmes/{CADRE_COMMUN}", as_="auditor")["enrolled"]
    journey.wait_for_beneficiaries(CADRE_COMMUN, enrolled)
    cycle_id = str(journey.run_cycle(CADRE_COMMUN, PERIOD, funding_line="ECHO — cadre commun 2026")["id"])
    # No route lists a cycle's codes: the distribution list (printed cards, handed out by commune) stands in.
    slips = voucher_slips(journey, cycle_id)
    bars.console.print(
        f"cycle {PERIOD}: {len(slips):,} vouchers issued, {sum(slip.amount for slip in slips):,} XOF; "
        "created by operator, approved by approver, released; redeemable at registered shops"
    )
    queues: dict[str, list[str]] = {}
    for region, (vendor, name) in SHOPS.items():
        journey.register_vendor(vendor, name=name, programmes=[CADRE_COMMUN])
        journey.tokens[vendor] = mint_token(stack.database_url, name=name, role=f"vendor:{vendor}")
        codes = [slip.code for slip in slips if slip.region == region]
        queues[vendor] = codes[: len(codes) * REDEEMED_PERCENT // 100]
    journey.wait_for_vouchers(cycle_id, issued=len(slips))
    with ThreadPoolExecutor(max_workers=len(queues)) as shops:  # the shops serve households at the same time
        serving = {
            vendor: shops.submit(journey.redeem_vouchers, codes, vendor=vendor)
            for vendor, codes in queues.items()
        }
    served = {vendor: redeemed.result() for vendor, redeemed in serving.items()}
    bars.console.print(
        f"{REDEEMED_PERCENT} % of households came to their region's shop, which redeemed with its vendor token: "
        + ", ".join(f"{vendor} ({region}) {len(served[vendor])}" for region, (vendor, _) in SHOPS.items())
    )
    journey.wait_for_vouchers(
        cycle_id, issued=len(slips), redeemed=sum(len(vouchers) for vouchers in served.values())
    )

    vendor = SHOPS["Gao"][0]
    if len(served[vendor]) < 3:
        bars.console.print(f"too few vouchers redeemed at {vendor} for its report at this size")
        return
    report = workspace / "vendor-reports" / f"{vendor.lower()}-{PERIOD}.csv"
    report.parent.mkdir(exist_ok=True)
    report.write_bytes(_planted_report(vendor, served[vendor]))
    imported = journey.import_redemption_report(report.read_bytes())
    outcomes = ", ".join(f"{name} {count}" for name, count in sorted(imported["outcomes"].items()))
    bars.console.print(
        f"{vendor}'s report: {imported['lines']} lines — {outcomes}; "
        "the Tombouctou shop has not sent its report yet"
    )
    for found in sorted(journey.discrepancies(cycle_id), key=lambda found: str(found["category"])):
        bars.console.print(f"  {found['category']}: {found['suggested_action']}")
    figures = journey.reconciliation(cycle_id)["vouchers"]
    bars.console.print(
        f"vouchers of the cadre commun {PERIOD}: "
        + _figures(figures, {"issued": "issued", "redeemed": "redeemed", "reported": "reported by vendors"})
    )
    bars.console.print(
        "  of the redeemed: "
        + _figures(
            figures,
            {
                "report_matched": "matched",
                "report_differs": "differing",
                "missing_from_reports": "missing from reports",
                "awaiting_report": "awaiting a report",
            },
        )
    )
    bars.console.print(f"[green]✓[/] vendor redemption report written: {report}")


def _planted_report(vendor: str, served: list[dict[str, Any]]) -> bytes:
    """The vendor's report of the vouchers it served, with two slips of the kind vendors make: one amount
    typed wrong (45 000 as 54 000) and one household served but left out."""
    lines = [
        ReportedRedemption(
            voucher["code"],
            voucher["amount"],
            datetime.fromisoformat(voucher["redeemed_at"]),
            f"R-{number:04d}",
        )
        for number, voucher in enumerate(served, start=1)
    ]
    lines.pop(len(lines) // 2)
    typo = len(lines) // 3
    lines[typo] = replace(lines[typo], amount=lines[typo].amount + 9_000)
    return vendor_redemption_report(vendor, lines)


def _figures(block: dict[str, Any], labels: dict[str, str]) -> str:
    return " · ".join(
        f"{label} {block[key]['count']:,} ({block[key]['amount']:,} XOF)" for key, label in labels.items()
    )
