"""Benchmark: the full cycle for N households on the embedded default, through the public APIs only.

    python benchmarks/full_cycle.py [--households 200000] [--dispatchers 2]

import → enrol (target, validate, activate) → events reach payments → cycle → approve → release →
simulator → callbacks → statements → reconciliation summary. Prints each stage's seconds and items/s, the
CPU seconds per 1,000 payments (every process of the system), the peak RSS of each process and the total.
Target on a 2-core machine: ≤ 5 minutes for 200,000 households.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psutil
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `benchmarks.measure` when run as a script

from benchmarks.measure import peak_rss_mb, postgres_cpu_seconds, scratch
from filet.embedded import free_port
from filet.journey import Journey
from filet.registry_sample import generate
from filet.stack import Stack
from shared.db import build_engine
from shared.settings import Settings

T = TypeVar("T")

PROGRAMME = "JIGISEMEJIRI"

REGIONS = [
    "Kayes",
    "Koulikoro",
    "Sikasso",
    "Ségou",
    "Mopti",
    "Tombouctou",
    "Gao",
    "Kidal",
    "Ménaka",
    "Taoudénit",
]


def embedded_stack(workspace: Path, *, topic_prefix: str, dispatchers: int) -> tuple[Stack, dict[str, int]]:
    """Every process of the system on the embedded default, on free ports (not started yet), and the ports
    of the services."""
    ports = {name: free_port() for name in ("enrolment", "payments", "reconciliation", "simulator")}
    stack = Stack(
        Settings(topic_prefix=topic_prefix),
        workspace,
        ports=ports,
        pg_port=free_port(),
        broker_port=free_port(),
        dispatchers=dispatchers,
    )
    return stack, ports


def cpu_by_process(stack: Stack) -> dict[str, float]:
    """CPU seconds so far of each process: the services, and PostgreSQL's server processes together (its
    connections are its children, not the supervisor's)."""
    seconds = {"postgres": postgres_cpu_seconds(stack.data_dir / "pgdata")}
    for child in stack.supervisor.children:
        if child.name == "postgres":
            continue  # counted above, with its backends
        try:
            times = psutil.Process(child.process.pid).cpu_times()
        except psutil.NoSuchProcess:
            continue
        seconds[child.name] = seconds.get(child.name, 0.0) + times.user + times.system
    return seconds


def cpu_seconds(stack: Stack) -> float:
    """CPU so far of every process of the system."""
    return sum(cpu_by_process(stack).values())


def news_by_source(database_url: str) -> list[tuple[str, int]]:
    """Payment history rows per source (`release`, `dispatcher`, `query:wave`, `dispatcher:gsma`, …), the most
    first."""
    engine = build_engine(database_url, pool_size=1, application_name="filet-benchmark")
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    'SELECT source, count(*) AS n FROM "payments".payment_history GROUP BY source ORDER BY n DESC'
                )
            ).all()
    finally:
        engine.dispose()
    return [(str(row.source), int(row.n)) for row in rows]


class TimedJourney(Journey):
    """The journey, remembering how long each API call took (reset by the caller)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls: list[tuple[str, float]] = []

    def call(self, method: str, service: str, path: str, **options: Any) -> Any:
        started = time.monotonic()
        try:
            return super().call(method, service, path, **options)
        finally:
            self.calls.append((f"{method} {service}{path}", time.monotonic() - started))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--households", type=int, default=200_000)
    parser.add_argument(
        "--dispatchers", type=int, default=2, help="payments dispatcher processes (each uses at most a core)"
    )
    args = parser.parse_args()

    workspace = scratch("filet-bench-cycle-")
    stack, ports = embedded_stack(workspace, topic_prefix="bench", dispatchers=args.dispatchers)
    stages: list[tuple[str, float, int]] = []

    def timed(name: str, items: int, work: Callable[[], T]) -> T:
        """Runs a stage; prints its time and which processes spent its CPU (the busiest first)."""
        cpu_before = cpu_by_process(stack)
        started = time.monotonic()
        result = work()
        stages.append((name, time.monotonic() - started, items))
        spent = {
            process: seconds - cpu_before.get(process, 0.0)
            for process, seconds in cpu_by_process(stack).items()
        }
        busiest = sorted(spent.items(), key=lambda item: -item[1])
        print(f"{name:<40} {stages[-1][1]:8.1f} s", flush=True)
        print(
            f"    CPU {sum(spent.values()):.1f} s: "
            + ", ".join(f"{process} {seconds:.1f}" for process, seconds in busiest if seconds >= 0.05),
            flush=True,
        )
        return result

    try:
        stack.start()
        journey = TimedJourney({name: stack.url(name) for name in ports}, stack.tokens)
        registry = workspace / "rsu.csv"
        generate(args.households, registry, seed=2026, duplicate_percent=3, bad_percent=1)
        cpu_before = cpu_seconds(stack)
        started = time.monotonic()
        job = timed("import + deduplication", args.households, lambda: journey.import_households(registry))
        journey.create_programme(
            {
                "code": PROGRAMME,
                "name": "Jigisemejiri",
                "zone": [{"region": region} for region in REGIONS],
                "duration_months": 36,
                "targeting_method": "pmt",
            }
        )

        def enrol() -> int:
            for region in REGIONS:
                journey.enrol(PROGRAMME, filter={"region": region})
            return journey.validate_and_activate(PROGRAMME, who="comités villageois", where="villages")

        active = int(timed("enrol, validate, activate", args.households, enrol))
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
        timed(
            "events reach payments",
            active,
            lambda: journey.wait_for_beneficiaries(PROGRAMME, active, timeout=1800),
        )
        journey.calls.clear()
        cycle = timed(
            "cycle: create, approve, release",
            active,
            lambda: journey.run_cycle(PROGRAMME, "2026-Q1", funding_line="IDA"),
        )
        for what, seconds in journey.calls:  # which of the cycle's calls holds the time
            print(f"    {what:<56} {seconds:8.1f} s", flush=True)
        cycle_id = cycle["id"]
        paid = timed(
            "dispatch, callbacks, every payment terminal",
            active,
            lambda: journey.wait_until_paid(cycle_id, timeout=3600),
        )

        def reconcile() -> dict[str, Any]:
            config = httpx.get(f"{stack.url('simulator')}/_admin/config", timeout=10).json()
            for dialect in ("gsma", "mtn", "wave"):
                account = config["accounts"][dialect]["id"]
                journey.call(
                    "POST",
                    "reconciliation",
                    "/v1/accounts",
                    json={"account_id": account, "provider": dialect},
                )
                statement = httpx.get(
                    f"{stack.url('simulator')}/_admin/statements/camt053",
                    params={"account": account},
                    timeout=600,
                )
                journey.import_statement(statement.content, content_type="application/xml")
            return journey.wait_for_reconciliation(cycle_id, paid)

        reconciled = timed("statements → reconciliation summary", active, reconcile)
        total = time.monotonic() - started
        cpu = cpu_seconds(stack) - cpu_before
        payments = int(paid["summary"]["total"]["count"])
        print()
        print(
            f"households {args.households:,}; imported {job['accepted'] + job['duplicates']:,}; "
            f"active {active:,}; payments {payments:,}; dispatcher processes {args.dispatchers}"
        )
        for name, seconds, items in stages:
            print(f"  {name:<40} {seconds:8.1f} s  {items / seconds if seconds else 0:10,.0f} items/s")
        print(f"end to end: {total:.1f} s  (target 300 s)")
        print(
            f"CPU, every process (PostgreSQL's backends included): {cpu:.0f} s = {cpu / max(payments, 1) * 1000:.1f} s per 1,000 payments"
        )
        for child in stack.supervisor.children:
            print(f"  peak RSS {child.name:<24} {peak_rss_mb(child.process.pid):7.0f} MB")
        print("payments' news by where it came from (a status query is extra work for every process):")
        for source, count in news_by_source(stack.database_url):
            print(f"  {source:<28} {count:9,} ({count / max(payments, 1):.2f} per payment)")
        # What the provider really did, against what filet says: nothing lost, nothing paid twice.
        ledger = httpx.get(f"{stack.url('simulator')}/_admin/ledger/summary", timeout=60).json()
        totals = reconciled["total"]
        ledger_paid = int(ledger["by_status"]["succeeded"]["paid"])
        settled = int(totals["settled"]["settled_amount"])
        twice = int(ledger["references"]["paid_more_than_once"])
        print(
            f"simulator ledger paid {ledger_paid:,} XOF; reconciliation settled {settled:,} XOF; "
            f"instructed {int(totals['instructed']['amount']):,} XOF; references paid more than once: {twice}"
        )
        if ledger_paid != settled or twice:
            print("MISMATCH between the provider's ledger and reconciliation", file=sys.stderr)
            sys.exit(1)
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
