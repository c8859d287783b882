"""Benchmark: enrol a programme's households by filter, then target, validate and activate them in bulk.

    python benchmarks/enrolment_transitions.py [--households 200000] [--profile /tmp/api.prof]

Starts an embedded PostgreSQL (or uses DATABASE_URL) with a fresh database, writes `--households`
registered households straight into the registry (set-based SQL: the import has its own benchmark), and
runs the enrolment API under uvicorn in a child process. Then, through the public HTTP API as the journey
does: `POST /v1/enrolments` with a filter covering the programme's whole zone, and three bulk transitions
`POST /v1/enrolments/transitions` by selection {programme, status}: target, validate (who, when, where),
activate. Prints each step's seconds, the CPU seconds of the API process and of the embedded PostgreSQL's
processes, the total, items/s, the API's peak RSS, and what the outbox holds. With `--profile FILE`, the
API runs under cProfile and writes FILE at exit.
Target: ≤ 20 s for the four requests at 200,000 households.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `benchmarks.measure` when run as a script

from benchmarks.measure import cpu_seconds, peak_rss_mb, postgres_cpu_seconds, scratch, wait_http
from filet.embedded import EmbeddedPostgres, free_port
from filet.processes import Supervisor
from filet.stack import migrate_all
from shared.auth import TokenStore
from shared.db import build_engine

#: Where the generated households live: the programme covers these two regions whole.
REGIONS = {
    "Sikasso": {"Sikasso": ("Sikasso", "Kignan", "Finkolo"), "Kadiolo": ("Kadiolo", "Loulouni")},
    "Ségou": {"Ségou": ("Ségou", "Pélengana", "Markala"), "San": ("San", "Tène")},
}


def seed_households(url: str, households: int) -> None:
    """`households` registered households spread over REGIONS, written in one set-based statement."""
    places = [
        (region, cercle, commune)
        for region, cercles in REGIONS.items()
        for cercle, communes in cercles.items()
        for commune in communes
    ]
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TEMP TABLE place (n int, region text, cercle text, commune text)")
        with conn.cursor().copy("COPY place (n, region, cercle, commune) FROM STDIN") as copy:
            for n, place in enumerate(places):
                copy.write_row((n, *place))
        conn.execute(
            """
            INSERT INTO enrolment.household (id, rsu_id, head_name, size, region, cercle, commune,
                                             pmt_score, hea_category)
            SELECT gen_random_uuid(), 'BENCH-' || i, 'Chef ' || i, 1 + i %% 9, p.region, p.cercle, p.commune,
                   2000 + i %% 3000, (ARRAY['very_poor', 'poor', 'middle', 'better_off'])[1 + i %% 4]
            FROM generate_series(1, %(n)s) AS i JOIN place p ON p.n = i %% %(places)s
            """,
            {"n": households, "places": len(places)},
        )
        conn.execute("ANALYZE enrolment.household")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--households", type=int, default=200_000)
    parser.add_argument("--profile", type=Path, help="run the API under cProfile and write its stats here")
    args = parser.parse_args()

    supervisor = Supervisor(scratch("filet-bench-logs-"))
    try:
        data_dir: Path | None = None
        server = os.environ.get("DATABASE_URL")
        if server is None:
            embedded = scratch("filet-bench-pg-")
            server = EmbeddedPostgres(embedded, free_port(), supervisor).start()
            data_dir = embedded
        database = f"filet_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(server.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{database}"')
        url = server.rsplit("/", 1)[0] + "/" + database
        engine = build_engine(url, pool_size=2)
        migrate_all(engine)
        token = TokenStore(engine).create(name="bench-operator", role="operator")
        seeding = time.monotonic()
        seed_households(url, args.households)
        print(f"seeded {args.households:,} households in {time.monotonic() - seeding:.1f} s")

        port = free_port()
        env = {**os.environ, "DATABASE_URL": url, "FILET_LOG_LEVEL": "WARNING"}
        command = [sys.executable, "-m", "enrolment.api.app", "--port", str(port)]
        if args.profile:
            command[1:1] = ["-m", "cProfile", "-o", str(args.profile)]
        api = supervisor.start("enrolment-api", command, env=env)
        pid = api.process.pid
        base = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {token}"}
        steps: list[tuple[str, float, float, float, int]] = []
        with httpx.Client(base_url=base, headers=headers, timeout=600) as client:
            wait_http(f"{base}/healthz", hint=f"see {api.log_path}")
            rss_idle = peak_rss_mb(pid)
            programme = {
                "code": "BENCH",
                "name": "benchmark programme",
                "zone": [{"region": region} for region in REGIONS],
                "duration_months": 36,
                "targeting_method": "pmt",
            }
            answer = client.post("/v1/programmes", json=programme)
            if answer.status_code != 201:
                sys.exit(f"programme refused: {answer.status_code} {answer.text}")

            def step(name: str, path: str, body: dict[str, Any], count: str) -> None:
                cpu, pg_cpu = cpu_seconds(pid), postgres_cpu_seconds(data_dir)
                started = time.monotonic()
                answer = client.post(path, json=body)
                elapsed = time.monotonic() - started
                if answer.status_code not in (200, 201):
                    sys.exit(f"{name} refused: {answer.status_code} {answer.text[:2000]}")
                result = answer.json()
                if result.get("refused"):
                    sys.exit(f"{name}: {len(result['refused'])} refused")
                pg_cpu = postgres_cpu_seconds(data_dir) - pg_cpu
                steps.append((name, elapsed, cpu_seconds(pid) - cpu, pg_cpu, int(result[count])))

            step("enrol", "/v1/enrolments", {"programme": "BENCH", "filter": {}}, "enrolled")
            selection = {"programme": "BENCH"}
            step(
                "target",
                "/v1/enrolments/transitions",
                {"action": "target", "selection": {**selection, "status": "registered"}},
                "moved",
            )
            validation = {
                "who": "comité villageois",
                "when": datetime.now(UTC).isoformat(),
                "where": "assemblée villageoise",
            }
            step(
                "validate",
                "/v1/enrolments/transitions",
                {
                    "action": "validate",
                    "validation": validation,
                    "selection": {**selection, "status": "targeted"},
                },
                "moved",
            )
            step(
                "activate",
                "/v1/enrolments/transitions",
                {"action": "activate", "selection": {**selection, "status": "validated"}},
                "moved",
            )
        rss = peak_rss_mb(pid)
        with engine.connect() as connection:
            outbox = connection.execute(
                text("SELECT type, count(*) FROM enrolment.outbox GROUP BY type ORDER BY type")
            ).all()
            transitions = connection.execute(
                text("SELECT count(*) FROM enrolment.enrolment_transition")
            ).scalar_one()
            updates = connection.execute(
                text(
                    "SELECT n_tup_upd, n_tup_hot_upd, pg_relation_size(relid) FROM pg_stat_user_tables "
                    "WHERE schemaname = 'enrolment' AND relname = 'enrolment'"
                )
            ).one()
        engine.dispose()

        for name, elapsed, cpu, pg_cpu, items in steps:
            print(
                f"{name:<9} {items:>9,} items  {elapsed:6.2f} s  API CPU {cpu:6.2f} s  "
                f"PostgreSQL CPU {pg_cpu:6.2f} s  {items / elapsed:>10,.0f} items/s"
            )
        total = sum(s[1] for s in steps)
        items = sum(s[4] for s in steps)
        print(
            f"total     {items:>9,} items  {total:6.2f} s  API CPU {sum(s[2] for s in steps):6.2f} s  "
            f"PostgreSQL CPU {sum(s[3] for s in steps):6.2f} s  {items / total:>10,.0f} items/s"
            "   (target ≤ 20 s at 200,000 households)"
        )
        print(f"API peak RSS: {rss:.0f} MB (idle {rss_idle:.0f} MB)")
        print(f"history rows: {transitions:,}; outbox: " + ", ".join(f"{t} {n:,}" for t, n in outbox))
        print(
            f"enrolment rows updated {updates[0]:,}, of which HOT (no index entry written) {updates[1]:,}; "
            f"table {updates[2] / 2**20:.0f} MB"
        )
    finally:
        supervisor.stop_all()


if __name__ == "__main__":
    main()
