"""Benchmark: a 200,000-household RSU file imported through the real enrolment API, deduplicated, scored.

    python benchmarks/enrolment_import.py [--households 200000] [--file /tmp/rsu.csv]

Generates the file with filet.registry_sample (unless --file names one with its truth alongside), starts an
embedded PostgreSQL (or uses DATABASE_URL) with a fresh database and the enrolment API under uvicorn in a
child process on a free port, posts the file to `POST /v1/household-imports` and follows the job until it
finishes. Prints import+dedup seconds (from the POST to the job's end), rows/s, the API process's peak RSS,
and the precision and recall of the proposed duplicate pairs against the file's ground truth.
Targets: ≤ 60 s, ≤ 500 MB, precision and recall ≥ 0.95.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `benchmarks.measure` when run as a script

from benchmarks.measure import cpu_seconds, peak_rss_mb, scratch, wait_http
from filet.embedded import EmbeddedPostgres, free_port
from filet.processes import Supervisor
from filet.stack import migrate_all
from shared.auth import TokenStore
from shared.db import build_engine

HERE = Path(__file__).resolve().parent


def chunks_of(path: Path, size: int = 1 << 20) -> Iterator[bytes]:
    with path.open("rb") as file:
        while chunk := file.read(size):
            yield chunk


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--households", type=int, default=200_000)
    parser.add_argument(
        "--file", type=Path, help="an RSU file written by filet.registry_sample (generated if absent)"
    )
    args = parser.parse_args()

    path: Path = args.file or scratch("filet-bench-rsu-") / "rsu.csv"
    if not path.exists():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "filet.registry_sample",
                "--households",
                str(args.households),
                "--out",
                str(path),
            ],
            check=True,
        )
    truth = json.loads(path.with_suffix(".truth.json").read_text(encoding="utf-8"))

    supervisor = Supervisor(scratch("filet-bench-logs-"))
    try:
        server = (
            os.environ.get("DATABASE_URL")
            or EmbeddedPostgres(scratch("filet-bench-pg-"), free_port(), supervisor).start()
        )
        database = f"filet_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(server.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{database}"')
        url = server.rsplit("/", 1)[0] + "/" + database
        engine = build_engine(url, pool_size=2)
        migrate_all(engine)
        token = TokenStore(engine).create(name="bench-operator", role="operator")

        port = free_port()
        env = {**os.environ, "DATABASE_URL": url, "FILET_LOG_LEVEL": "WARNING"}
        api = supervisor.start(
            "enrolment-api", [sys.executable, "-m", "enrolment.api.app", "--port", str(port)], env=env
        )
        base = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
            wait_http(f"{base}/healthz", hint=f"see {api.log_path}")
            rss_idle = peak_rss_mb(api.process.pid)

            cpu_before = cpu_seconds(api.process.pid)
            started = time.monotonic()
            answer = client.post(
                "/v1/household-imports", content=chunks_of(path), headers={"Content-Type": "text/csv"}
            )
            accepted_at = time.monotonic()
            if answer.status_code != 202:
                sys.exit(f"import refused: {answer.status_code} {answer.text}")
            job_id = answer.json()["id"]
            health: list[float] = []
            while True:
                job = client.get(f"/v1/household-imports/{job_id}?limit=1").json()
                probe = time.monotonic()
                client.get("/healthz")
                health.append(time.monotonic() - probe)
                if job["status"] in ("completed", "failed", "rolled_back"):
                    break
                time.sleep(0.5)
            finished = time.monotonic()
            api_cpu = cpu_seconds(api.process.pid) - cpu_before
        rss = peak_rss_mb(api.process.pid)

        with engine.connect() as conn:
            row_of: dict[uuid.UUID, int] = dict(
                conn.execute(
                    text(
                        "SELECT household_id, row_number FROM enrolment.import_row WHERE household_id IS NOT NULL"
                    )
                ).all()
            )
            pairs = conn.execute(
                text("SELECT household_id, duplicate_of FROM enrolment.duplicate_candidate")
            ).all()
            rejected: dict[int, set[str]] = {
                row_number: set(field.split(", "))
                for row_number, field in conn.execute(
                    text("SELECT row_number, field FROM enrolment.import_row WHERE outcome = 'rejected'")
                )
            }
        proposed = {(row_of[of], row_of[new]) for new, of in pairs}
        group = {r: d["of"] for d in truth["duplicates"] for r in (d["row"], d["of"])}
        right = sum(1 for a, b in proposed if a in group and group[a] == group.get(b))
        planted = {(d["of"], d["row"]) for d in truth["duplicates"]}
        found = len(planted & proposed)
        bad = {b["row"]: b["field"] for b in truth["bad"]}
        caught = sum(1 for row, field in bad.items() if field in rejected.get(row, ()))
        elapsed = finished - started
        rows = job["rows_done"]

        print(f"file:             {path} ({path.stat().st_size / 1e6:.1f} MB, {truth['households']:,} rows)")
        print(
            f"job:              {job['status']}: {job['accepted']:,} accepted, {job['rejected']:,} rejected, "
            f"{job['duplicates']:,} possible duplicates"
        )
        print(f"upload answered:  {accepted_at - started:.1f} s (202)")
        print(f"import+dedup:     {elapsed:.1f} s  →  {rows / elapsed:,.0f} rows/s   (target ≤ 60 s)")
        print(f"API process CPU:  {api_cpu:.1f} s (user + system, during the import)")
        print(f"API peak RSS:     {rss:.0f} MB (idle {rss_idle:.0f} MB)   (target ≤ 500 MB)")
        print(f"/healthz during:  max {max(health) * 1000:.0f} ms over {len(health)} probes")
        print(
            f"duplicates:       {len(proposed):,} pairs proposed, {right:,} right; {found:,}/{len(planted):,} planted found"
        )
        print(
            f"                  precision {right / max(len(proposed), 1):.4f}, recall {found / max(len(planted), 1):.4f}"
            "   (target ≥ 0.95)"
        )
        print(f"bad rows:         {caught:,}/{len(bad):,} rejected on the planted field")
    finally:
        supervisor.stop_all()


if __name__ == "__main__":
    main()
