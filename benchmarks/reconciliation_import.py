"""Benchmark of a statement import through the reconciliation service's use case, on real PostgreSQL.

A generated 200,000-entry camt.053 (benchmarks/camt_file.py) is imported against 200,000 expectations
loaded into the service's tables: parse, check, match, store lines, outcomes and discrepancies in one
transaction, then the cycle summary read back. Starts an embedded PostgreSQL unless DATABASE_URL is set.

Run from the repository root: `.venv/bin/python -m benchmarks.reconciliation_import --entries 200000`.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import orjson
import psycopg
from sqlalchemy import Engine, text

from benchmarks.camt_file import ACCOUNT, DAY, write_camt
from benchmarks.measure import scratch
from filet.embedded import EmbeddedPostgres, free_port
from filet.processes import Supervisor
from filet.stack import migrate_all
from reconciliation.db.keys import copy_rows
from reconciliation.db.unit_of_work import ReconciliationUnitOfWork
from reconciliation.statements.lines import StatementFormat
from reconciliation.use_cases.import_statement import import_statement
from reconciliation.use_cases.register_account import register_account
from reconciliation.use_cases.report_cycle import cycle_summary
from shared.auth import Principal
from shared.db import build_engine

CYCLE = uuid.UUID("2025a000-0000-4000-8000-000000000200")
BENCH = Principal(token_id=uuid.UUID(int=0), name="bench-operator", role="operator")
COLUMNS = (
    "instruction_id",
    "payment_id",
    "cycle_id",
    "programme_code",
    "period",
    "household_id",
    "provider",
    "modality",
    "payee",
    "amount",
    "currency",
    "region",
    "cercle",
    "commune",
    "state",
    "instructed_on",
    "settled_amount",
)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _expectation_rows(path: Path) -> Iterator[tuple[object, ...]]:
    day = date.fromisoformat(DAY)
    with path.open("rb") as file:
        for raw in file:
            row = orjson.loads(raw)
            yield (
                row["instruction_id"],
                uuid.uuid4(),
                CYCLE,
                row["programme"],
                "2025-Q1",
                uuid.uuid4(),
                row["provider"],
                row["modality"],
                row["payee"],
                row["amount"],
                "XOF",
                row["region"],
                row["region"],
                row["commune"],
                row["state"],
                day,
                0,
            )


def load_expectations(engine: Engine, path: Path) -> int:
    """The expectations as the consumer would have stored them, COPYed as they are read (never held whole,
    so the peak RSS measured is the import's, not this setup's)."""
    with engine.begin() as connection:
        copy_rows(connection, '"reconciliation"."expectation"', COLUMNS, _expectation_rows(path))
        loaded = int(connection.execute(text("SELECT count(*) FROM reconciliation.expectation")).scalar_one())
        connection.execute(text("ANALYZE reconciliation.expectation"))
    with ReconciliationUnitOfWork(engine, topic_prefix="bench") as uow:
        register_account(uow, account_id=ACCOUNT, provider="bank", registered_by=BENCH)
        uow.commit()
    return loaded


def database(supervisor: Supervisor) -> str:
    server = (
        os.environ.get("DATABASE_URL")
        or EmbeddedPostgres(scratch("filet-bench-pg-"), free_port(), supervisor, fast_and_unsafe=True).start()
    )
    name = f"filet_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server.rsplit("/", 1)[0] + "/postgres", autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return server.rsplit("/", 1)[0] + "/" + name


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=200_000)
    arguments = parser.parse_args()
    folder = scratch("filet-bench-camt-")
    statement_path = folder / "camt053.xml"
    expectations_path = folder / "camt053.expectations.jsonl"
    truth = write_camt(statement_path, expectations_path, entries=arguments.entries)
    supervisor = Supervisor(folder / "logs")
    try:
        engine = build_engine(database(supervisor), pool_size=2)
        migrate_all(engine)
        started = time.perf_counter()
        loaded = load_expectations(engine, expectations_path)
        load_seconds = time.perf_counter() - started
        rss_before = peak_rss_mb()

        wall, cpu = time.perf_counter(), time.process_time()
        with (
            statement_path.open("rb") as source,
            ReconciliationUnitOfWork(engine, topic_prefix="bench") as uow,
        ):
            [imported] = import_statement(
                uow,
                source=source,
                statement_format=StatementFormat.CAMT053,
                imported_by=BENCH,
                max_bytes=4 * 1024**3,
            )
            uow.commit()
        import_wall, import_cpu = time.perf_counter() - wall, time.process_time() - cpu

        wall = time.perf_counter()
        with ReconciliationUnitOfWork(engine, topic_prefix="bench") as uow:
            summary = cycle_summary(uow, cycle_id=CYCLE)
        summary_wall = time.perf_counter() - wall

        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT outcome, count(*) FROM reconciliation.expectation GROUP BY outcome")
            )
            stored: Counter[str] = Counter({str(outcome): int(count) for outcome, count in rows})
        correct = stored == truth.instructions and Counter(imported.outcomes) == truth.lines
        size_mb = statement_path.stat().st_size / 1024**2
        print(f"entries: {arguments.entries:,}  file: {size_mb:,.0f} MB  expectations loaded: {loaded:,}")
        print(f"  load expectations  {load_seconds:8.2f} s (setup, not counted)")
        print(
            f"  import (parse + check + match + store, one transaction)  {import_wall:8.2f} s wall {import_cpu:8.2f} s cpu"
        )
        print(f"  cycle summary      {summary_wall:8.2f} s")
        print(f"  total              {import_wall + summary_wall:8.2f} s (target 30 s)")
        print(
            f"  peak RSS           {peak_rss_mb():,.0f} MB (after loading expectations: {rss_before:,.0f} MB; target 300 MB)"
        )
        print(f"  planned            {summary['total']['planned']['count']:,}")
        print(f"  instructions       {dict(sorted(stored.items()))}")
        print(f"  lines              {dict(sorted(imported.outcomes.items()))}")
        print(f"  matches the ground truth: {correct}")
        engine.dispose()
    finally:
        supervisor.stop_all()


if __name__ == "__main__":
    main()
