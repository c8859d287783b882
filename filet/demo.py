"""`make demo`: the whole system on the embedded default, and a household flowing through it."""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from filet.embedded import EmbeddedError
from filet.processes import kill_tree_on_exit
from filet.stack import Stack
from shared.settings import Settings

console = Console(highlight=False)

VILLAGES = [
    ("Kayes", "Kita", "Kita", "Sébékoro"),
    ("Koulikoro", "Kati", "Kati", "Sanankoroba"),
    ("Sikasso", "Koutiala", "Koutiala", "Zébala"),
    ("Ségou", "San", "San", "Sienso"),
    ("Mopti", "Djenné", "Djenné", "Sofara"),
    ("Gao", "Gao", "Gao", "Gadeye"),
]


def run_demo(*, households: int, data_dir: Path) -> int:
    """Returns the process exit code."""
    workspace = (data_dir / "demo").resolve()
    shutil.rmtree(workspace, ignore_errors=True)  # a fresh workspace every run: running it again works
    stack = Stack(Settings(), workspace)
    kill_tree_on_exit()
    try:
        with console.status("starting PostgreSQL, the broker, three services and the provider simulator …"):
            started = time.monotonic()
            stack.start()
        console.print(f"[green]✓[/] system up in {time.monotonic() - started:.1f} s  (workspace {workspace})")
        return _household_journey(stack, households)
    except EmbeddedError as error:
        console.print(f"[red]demo failed:[/] {error}")
        return 1
    except KeyboardInterrupt:
        console.print("interrupted")
        return 130
    finally:
        with console.status("stopping every process …"):
            stack.stop()
        console.print("[green]✓[/] stopped")


def _household_journey(stack: Stack, households: int) -> int:
    operator = {"Authorization": f"Bearer {stack.tokens['operator']}"}
    auditor = {"Authorization": f"Bearer {stack.tokens['auditor']}"}
    registered: dict[str, float] = {}
    with httpx.Client(timeout=10) as client:
        for n in range(households):
            region, cercle, commune, village = VILLAGES[n % len(VILLAGES)]
            body = {
                "rsu_id": f"RSU-DEMO-{uuid.uuid4().hex[:8].upper()}",
                "head_name": f"Ménage démo {n + 1}",
                "size": 3 + n % 6,
                "region": region,
                "cercle": cercle,
                "commune": commune,
                "village": village,
                "msisdn": f"+2237{n % 10}{n:06d}"[:12],
                "operator": "orange",
            }
            answer = client.post(
                f"{stack.url('enrolment')}/v1/households",
                json=body,
                headers={**operator, "Idempotency-Key": str(body["rsu_id"])},
            )
            answer.raise_for_status()
            registered[answer.json()["id"]] = time.monotonic()
        console.print(
            f"[green]✓[/] enrolment registered {households} household(s): household.registered → outbox"
        )
        arrivals = _wait_for_projections(client, stack, registered, auditor)
    table = Table(title="household.registered: enrolment → Kafka → payments and reconciliation")
    table.add_column("household")
    table.add_column("payments (beneficiary)", justify="right")
    table.add_column("reconciliation (payee)", justify="right")
    for household_id, (to_payments, to_reconciliation) in list(arrivals.items())[:10]:
        table.add_row(household_id, f"{to_payments * 1000:.0f} ms", f"{to_reconciliation * 1000:.0f} ms")
    console.print(table)
    missing = households - len(arrivals)
    if missing:
        console.print(f"[red]✗ {missing} household(s) did not arrive[/]")
        return 1
    console.print("[green]✓[/] every household reached both services, through the broker only")
    return 0


def _wait_for_projections(
    client: httpx.Client, stack: Stack, registered: dict[str, float], headers: dict[str, str]
) -> dict[str, tuple[float, float]]:
    arrivals: dict[str, tuple[float, float]] = {}
    seen: dict[tuple[str, str], float] = {}
    deadline = time.monotonic() + 60
    with console.status("waiting for the events to be applied downstream …"):
        while len(arrivals) < len(registered) and time.monotonic() < deadline:
            for household_id, at in registered.items():
                for service, path in (("payments", "beneficiaries"), ("reconciliation", "payees")):
                    if (household_id, service) in seen:
                        continue
                    url = f"{stack.url(service)}/v1/{path}/{household_id}"
                    if client.get(url, headers=headers).status_code == 200:
                        seen[(household_id, service)] = time.monotonic() - at
                if (household_id, "payments") in seen and (household_id, "reconciliation") in seen:
                    arrivals[household_id] = (
                        seen[(household_id, "payments")],
                        seen[(household_id, "reconciliation")],
                    )
            time.sleep(0.05)
    return arrivals
