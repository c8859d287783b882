"""Benchmark: items from enrolment's outbox to payments' inbox through the broker, end to end.

    python benchmarks/bus_throughput.py [--items 200000] [--items-per-event 500]

Starts an embedded PostgreSQL and broker (or uses DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS), a fresh database,
the real `enrolment.relay` and `payments.consumer` processes, then commits `households.registered` events
carrying the items into enrolment's outbox. Prints items/s from the first commit to the last item applied in
payments' beneficiary projection, and p50/p99 of the delay (outbox commit → inbox commit, both on the
database clock).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import uuid
from pathlib import Path

import psycopg
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `benchmarks.measure` when run as a script

from benchmarks.measure import scratch
from enrolment.db.unit_of_work import EnrolmentUnitOfWork
from filet.embedded import EmbeddedBroker, EmbeddedPostgres, free_port
from filet.processes import Supervisor
from filet.stack import migrate_all
from shared.db import build_engine
from shared.events.catalogue import all_topic_names
from shared.events.contracts import HouseholdFacts, HouseholdsRegistered
from shared.kafka import ensure_topics

REGIONS = [("Kayes", "Kita"), ("Sikasso", "Koutiala"), ("Ségou", "San"), ("Mopti", "Djenné"), ("Gao", "Gao")]


def synthetic_items(start: int, count: int) -> list[HouseholdFacts]:
    return [
        HouseholdFacts(
            household_id=uuid.uuid4(),
            rsu_id=f"RSU-{n:07d}",
            head_name=f"Chef de ménage {n}",
            msisdn=f"+2237{n % 10_000_000:07d}",
            operator="orange",
            size=1 + n % 9,
            region=REGIONS[n % 5][0],
            cercle=REGIONS[n % 5][1],
            commune=REGIONS[n % 5][1],
        )
        for n in range(start, start + count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--items-per-event", type=int, default=500)
    parser.add_argument("--events-per-transaction", type=int, default=10)
    parser.add_argument("--consumers", type=int, default=1, help="payments consumer replicas (one group)")
    args = parser.parse_args()

    supervisor = Supervisor(scratch("filet-bench-logs-"))
    try:
        server = (
            os.environ.get("DATABASE_URL")
            or EmbeddedPostgres(scratch("filet-bench-pg-"), free_port(), supervisor).start()
        )
        bootstrap = (
            os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or EmbeddedBroker(free_port(), supervisor).start()
        )
        database = f"filet_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(server.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{database}"')
        url = server.rsplit("/", 1)[0] + "/" + database
        prefix = f"bench{uuid.uuid4().hex[:6]}"
        engine = build_engine(url, pool_size=2)
        migrate_all(engine)
        ensure_topics(bootstrap, all_topic_names(prefix), partitions=4, prefix=prefix)

        env = {
            **os.environ,
            "DATABASE_URL": url,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "FILET_TOPIC_PREFIX": prefix,
        }
        relay = supervisor.start("relay", [sys.executable, "-m", "enrolment.relay"], env=env)
        consumers = [
            supervisor.start(f"consumer-{n}", [sys.executable, "-m", "payments.consumer"], env=env)
            for n in range(args.consumers)
        ]
        time.sleep(4 + 4 * (args.consumers - 1))  # let the group settle before the clock starts (~3 s a join)

        # The items exist before the clock starts (the service made them); publishing them is what is timed.
        batches = [
            synthetic_items(start, min(args.items_per_event, args.items - start))
            for start in range(0, args.items, args.items_per_event)
        ]
        started = time.monotonic()
        cpu_started = resource.getrusage(resource.RUSAGE_SELF)
        for first in range(0, len(batches), args.events_per_transaction):
            with EnrolmentUnitOfWork(engine, topic_prefix=prefix) as uow:
                for batch in batches[first : first + args.events_per_transaction]:
                    uow.publish(HouseholdsRegistered(items=batch), subject=str(batch[0].household_id))
                uow.commit()
        committed = time.monotonic()
        cpu_producer = resource.getrusage(resource.RUSAGE_SELF).ru_utime - cpu_started.ru_utime

        events = -(-args.items // args.items_per_event)
        deadline = time.monotonic() + 600
        applied_events = 0
        while applied_events < events and time.monotonic() < deadline:
            with engine.connect() as conn:  # a few hundred inbox rows: cheap to count, unlike the projection
                applied_events = conn.execute(text("SELECT count(*) FROM payments.inbox")).scalar_one()
            time.sleep(0.1)
        finished = time.monotonic()
        with engine.connect() as conn:
            applied = conn.execute(text("SELECT count(*) FROM payments.beneficiary")).scalar_one()
        with engine.connect() as conn:
            delays = conn.execute(
                text(
                    "SELECT percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY extract(epoch FROM i.applied_at - o.created_at)) "
                    "FROM enrolment.outbox o JOIN payments.inbox i ON i.event_id = o.event_id"
                )
            ).scalar_one()
        elapsed = finished - started
        print(
            f"items:                 {args.items:,} in {-(-args.items // args.items_per_event):,} events of ≤{args.items_per_event}"
        )
        print(f"outbox commits took:   {committed - started:.2f} s (producer CPU {cpu_producer:.1f} s)")
        print(f"end to end:            {elapsed:.2f} s  →  {args.items / elapsed:,.0f} items/s")
        print(f"applied:               {applied:,} beneficiaries in payments")
        print(
            f"delay outbox→inbox:    p50 {delays[0] * 1000:.0f} ms, p99 {delays[1] * 1000:.0f} ms (per event)"
        )
        for child in (relay, *consumers):
            with open(f"/proc/{child.process.pid}/status") as status:
                peak = next(line for line in status if line.startswith("VmHWM")).split()[1]
            print(f"peak RSS {child.name:<12} {int(peak) / 1024:.0f} MB")
        if applied < args.items:
            sys.exit("not every item arrived")
    finally:
        supervisor.stop_all()


if __name__ == "__main__":
    main()
