"""Release of an N-household cycle against the simulator (GSMA batches, MTN or Wave one by one) and the callback inbox.

    .venv/bin/python benchmarks/payments_release.py [--parts release,callbacks] [--households 200000]
        [--dialects gsma,mtn,wave] [--dispatchers 1] [--provider-concurrency N] [--callbacks 20000] [--concurrency 32] [--durable]

`release`: entitlements → instructions → dispatch → every callback applied, per dialect: `gsma` (batches of
2,000, one callback per batch, results read back), `mtn` (one request per payment, an unsigned callback each,
then an authenticated status query before the money state moves), `wave` (one request per payment, a signed
webhook each): payments/s, the dispatcher's CPU seconds per 1,000 payments and its peak RSS.

`callbacks`: signed Wave webhooks (distinct events about existing payments) against the payments API, one uvicorn
worker in its own process, from a load generator in another process (`count` requests, `concurrency` keep-alive
connections, loopback): requests/s, p50, p99. Then the inbox they filled is applied by `process_pending_callbacks`
(as the dispatcher's callback loop does): callbacks applied per second.

Embedded PostgreSQL (fast and unsafe: fsync and synchronous_commit off, unless `--durable`) unless DATABASE_URL is
set; simulator, payments API, dispatcher and load generator run as separate processes, so each one's CPU and peak
RSS can be read from /proc.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [
    str(ROOT),
    str(ROOT / "services" / "payments" / "src"),
    str(ROOT / "services" / "simulator" / "src"),
]

from benchmarks.measure import cpu_seconds, peak_rss_mb, postgres_cpu_seconds, scratch, wait_http  # noqa: E402
from filet.embedded import EmbeddedPostgres, free_port  # noqa: E402
from filet.processes import Supervisor  # noqa: E402
from filet.stack import migrate_all  # noqa: E402
from shared.auth import TokenStore  # noqa: E402
from shared.db import build_engine  # noqa: E402

SECRET = "bench-wave-secret"
#: Release dialects: programme, reference code, the households' operator (routing below), result label.
DIALECTS = {
    "gsma": ("BATCH", "B", "orange", "batch_gsma"),
    "mtn": ("SINGLE", "S", "moov", "single_mtn"),
    "wave": ("WAVE1", "V", "other", "single_wave"),
}


def seed(engine: Engine, households: int, operator: str, programme: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                'INSERT INTO "payments".beneficiary (household_id, rsu_id, head_name, msisdn, operator, '
                "preferred_modality, size, region, cercle, commune) SELECT gen_random_uuid(), 'RSU-' || :p || g, "
                "'Chef ' || g, '+2237' || lpad(g::text, 7, '0'), :o, 'mobile_money', 5, "
                "(ARRAY['Kayes','Sikasso','Ségou','Mopti'])[1 + g % 4], 'Cercle', 'Commune ' || (g % 50) "
                "FROM generate_series(1, :n) g"
            ),
            {"n": households, "o": operator, "p": programme},
        )
        conn.execute(
            text(
                'INSERT INTO "payments".membership (programme_code, household_id, enrolment_id, status, effective_at) '
                "SELECT :p, household_id, gen_random_uuid(), 'active', now() FROM \"payments\".beneficiary "
                "WHERE rsu_id LIKE 'RSU-' || :p || '%'"
            ),
            {"p": programme},
        )


def run_release(
    engine: Engine,
    api: httpx.Client,
    tokens: dict[str, str],
    env: dict[str, str],
    *,
    programme: str,
    code: str,
    operator: str,
    households: int,
    logs: Path,
    others: dict[str, int],
    pg_dir: Path | None,
    processes: int,
) -> dict[str, Any]:
    """`others`: the pids of the simulator and the API, whose CPU during the release is counted too."""
    seed(engine, households, operator, programme)
    maker, checker = ({"Authorization": f"Bearer {tokens[name]}"} for name in ("maker", "checker"))
    scheme = {
        "programme_code": programme,
        "reference_code": code,
        "first_period": "2026-Q1",
        "modality": "mobile_money",
        "basis": {"kind": "monthly_rate", "monthly_amount": 10_000, "every_months": 3},
        "cycles": 12,
        "routing": {"orange": "gsma", "moov": "mtn", "other": "wave"},
    }
    assert api.post("/v1/schemes", json=scheme, headers=maker).status_code == 201
    cpu_before = {name: cpu_seconds(pid) for name, pid in others.items()}
    pg_before = postgres_cpu_seconds(pg_dir)
    started = time.perf_counter()
    created = api.post(
        "/v1/cycles",
        json={"programme_code": programme, "period": "2026-Q1", "funding_line": "F"},
        headers=maker,
    )
    assert created.status_code == 201, created.text
    entitlements_s = time.perf_counter() - started
    cycle_id = created.json()["id"]
    api.post(f"/v1/cycles/{cycle_id}/submission", headers=maker)
    api.post(f"/v1/cycles/{cycle_id}/approval", headers=checker)
    released = api.post(f"/v1/cycles/{cycle_id}/release", headers=maker)
    assert released.status_code == 202, released.text
    release_s = time.perf_counter() - started - entitlements_s
    dispatchers = [
        subprocess.Popen(
            [sys.executable, "-m", "payments.dispatcher"],
            env=env,
            stdout=(logs / f"dispatcher-{code}-{n}.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        for n in range(processes)
    ]
    try:
        while True:
            with engine.connect() as conn:
                # The first open payment, a probe of the (cycle, state) index (as the dispatcher asks): a
                # count of the settled ones read the whole cycle twice a second (46 ms at 100,000).
                unsettled = conn.execute(
                    text(
                        'SELECT state FROM "payments".payment WHERE cycle_id = :c '
                        "AND state IN ('APPROVED', 'SUBMITTING', 'SUBMITTED', 'PENDING', 'UNKNOWN') "
                        "ORDER BY cycle_id, state LIMIT 1"
                    ),
                    {"c": cycle_id},
                ).first()
            if unsettled is None:
                break
            if time.perf_counter() - started > 1800:
                raise RuntimeError(f"{households} payments not all settled after 30 min")
            time.sleep(0.5)
        total_s = time.perf_counter() - started
        with engine.connect() as conn:
            settled = conn.execute(
                text(
                    'SELECT count(*) FROM "payments".payment WHERE cycle_id = :c '
                    "AND state IN ('SUCCEEDED', 'FAILED', 'REJECTED')"
                ),
                {"c": cycle_id},
            ).scalar_one()
        if settled != households:
            raise RuntimeError(f"{settled} of {households} payments settled")
        cpu = sum(cpu_seconds(dispatcher.pid) for dispatcher in dispatchers)
        rss = max(peak_rss_mb(dispatcher.pid) for dispatcher in dispatchers)
        spent = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in others.items()}
        spent |= {"dispatcher": cpu, "postgres": postgres_cpu_seconds(pg_dir) - pg_before}
    finally:
        for dispatcher in dispatchers:
            dispatcher.terminate()
        for dispatcher in dispatchers:
            dispatcher.wait(timeout=60)
    return {
        "entitlements_s": round(entitlements_s, 1),
        "release_s": round(release_s, 1),
        "total_s": round(total_s, 1),
        "payments_per_s": round(households / total_s, 1),
        "dispatcher_cpu_s_per_1000": round(1000 * cpu / households, 2),  # all dispatcher processes
        "cpu_s_per_1000_by_process": {
            name: round(1000 * seconds / households, 2) for name, seconds in spent.items()
        },
        "dispatcher_peak_rss_mb": round(rss, 1),
        "timeline_s": timeline(engine, cycle_id),
    }


def timeline(engine: Engine, cycle_id: str) -> dict[str, list[float]]:
    """Seconds from the release to the first and the last payment entering each state (from the history)."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                'SELECT h.to_state, min(h.at), max(h.at), (SELECT released_at FROM "payments".cycle WHERE id = :c) '
                'FROM "payments".payment_history h JOIN "payments".payment p ON p.id = h.payment_id '
                "WHERE p.cycle_id = :c AND h.outcome = 'transitioned' GROUP BY h.to_state"
            ),
            {"c": cycle_id},
        ).all()
    return {
        str(state): [
            round((first - released).total_seconds(), 1),
            round((last - released).total_seconds(), 1),
        ]
        for state, first, last, released in rows
    }


def prepare_wave_payments(
    engine: Engine, api: httpx.Client, tokens: dict[str, str], count: int
) -> list[tuple[str, int]]:
    """`count` Wave payments released and marked SUBMITTED (what providers call back about)."""
    seed(engine, count, "other", "WAVE")
    maker, checker = ({"Authorization": f"Bearer {tokens[name]}"} for name in ("maker", "checker"))
    scheme = {
        "programme_code": "WAVE",
        "reference_code": "W",
        "first_period": "2026-Q1",
        "modality": "mobile_money",
        "basis": {"kind": "monthly_rate", "monthly_amount": 10_000, "every_months": 3},
        "cycles": 12,
        "routing": {"other": "wave"},
    }
    assert api.post("/v1/schemes", json=scheme, headers=maker).status_code == 201
    created = api.post(
        "/v1/cycles", json={"programme_code": "WAVE", "period": "2026-Q1", "funding_line": "F"}, headers=maker
    )
    assert created.status_code == 201, created.text
    cycle_id = created.json()["id"]
    api.post(f"/v1/cycles/{cycle_id}/submission", headers=maker)
    api.post(f"/v1/cycles/{cycle_id}/approval", headers=checker)
    assert api.post(f"/v1/cycles/{cycle_id}/release", headers=maker).status_code == 202
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE \"payments\".payment SET state = 'SUBMITTED' WHERE cycle_id = :c"), {"c": cycle_id}
        )
        rows = conn.execute(
            text('SELECT reference, amount FROM "payments".payment WHERE cycle_id = :c ORDER BY reference'),
            {"c": cycle_id},
        ).all()
    return [(str(reference), int(amount)) for reference, amount in rows]


def run_callbacks(
    engine: Engine,
    api: httpx.Client,
    tokens: dict[str, str],
    api_url: str,
    api_pid: int,
    *,
    count: int,
    concurrency: int,
    work: Path,
) -> dict[str, Any]:
    """The receiving endpoint under load from another process, then the processing of what it kept."""
    references = prepare_wave_payments(engine, api, tokens, count)
    plan = work / "load.json"
    plan.write_text(json.dumps({"url": api_url, "references": references, "concurrency": concurrency}))
    with engine.begin() as conn:
        conn.execute(text('DELETE FROM "payments".raw_callback'))
    api_cpu = cpu_seconds(api_pid)
    generator = subprocess.run(
        [sys.executable, __file__, "--load", str(plan)], capture_output=True, check=True, timeout=900
    )
    receiving: dict[str, Any] = json.loads(generator.stdout)
    receiving["api_cpu_ms_per_request"] = round(1000 * (cpu_seconds(api_pid) - api_cpu) / count, 3)
    with engine.connect() as conn:
        pending = conn.execute(
            text('SELECT count(*) FROM "payments".raw_callback WHERE outcome IS NULL')
        ).scalar_one()
    receiving["pending_after"] = int(pending)
    return {"receiving": receiving, "processing": run_processing(engine, int(pending))}


def run_processing(engine: Engine, pending: int) -> dict[str, Any]:
    """Apply the inbox with `process_pending_callbacks` in passes of 2,000, as the dispatcher does."""
    from payments.service import unit_of_work_factory
    from payments.use_cases.process_pending_callbacks import process_pending_callbacks
    from shared.settings import Settings

    factory = unit_of_work_factory(engine, Settings(topic_prefix="bench"))
    started, cpu_started, done = time.perf_counter(), time.process_time(), 0
    while True:
        with factory() as uow:
            settled = process_pending_callbacks(uow, limit=2000, wave_secrets=[SECRET])
            uow.commit()
        if not settled:
            break
        done += settled
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    with engine.connect() as conn:
        outcomes: dict[str, int] = {
            str(outcome): int(n)
            for outcome, n in conn.execute(
                text('SELECT outcome, count(*) FROM "payments".raw_callback GROUP BY outcome')
            )
        }
    assert done == pending, (done, pending)
    return {
        "callbacks": done,
        "seconds": round(elapsed, 2),
        "callbacks_per_s": round(done / elapsed, 1),
        "cpu_ms_per_callback": round(1000 * cpu / max(done, 1), 3),
        "outcomes": outcomes,
    }


# --- the load generator (its own process) ---------------------------------------------------------------


def load(plan_path: Path) -> None:
    """Signed Wave webhooks over raw HTTP/1.1 keep-alive connections (a client far lighter than httpx)."""
    plan = json.loads(plan_path.read_text())
    url = httpx.URL(plan["url"])
    host, port = url.host, url.port or 80
    stamp = str(int(time.time()))
    requests: list[bytes] = []
    for index, (reference, amount) in enumerate(plan["references"]):
        body = json.dumps(
            {
                "id": f"EV_{uuid.uuid4().hex}",
                "type": "payout.succeeded",
                "data": {
                    "id": f"pt-{index}",
                    "currency": "XOF",
                    "receive_amount": str(amount),
                    "client_reference": reference,
                    "status": "succeeded",
                    "timestamp": "2026-01-01T00:00:00Z",
                },
            }
        ).encode()
        signature = hmac.new(SECRET.encode(), stamp.encode() + body, hashlib.sha256).hexdigest()
        head = (
            f"POST /v1/callbacks/wave HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
            f"Wave-Signature: t={stamp},v1={signature}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        requests.append(head.encode() + body)
    result = asyncio.run(_drive(host, port, requests, int(plan["concurrency"])))
    print(json.dumps(result))


async def _drive(host: str, port: int, requests: list[bytes], concurrency: int) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    cursor = iter(requests)

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for request in cursor:
                began = time.perf_counter()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                length = next(
                    (
                        int(line.split(":", 1)[1])
                        for line in lines
                        if line.lower().startswith("content-length:")
                    ),
                    0,
                )
                if length:
                    await reader.readexactly(length)
                latencies.append(time.perf_counter() - began)
                statuses[int(lines[0].split()[1])] += 1
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    latencies.sort()
    cpu = time.process_time()
    return {
        "requests": len(latencies),
        "concurrency": concurrency,
        "statuses": {str(k): v for k, v in statuses.items()},
        "seconds": round(elapsed, 2),
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(1000 * statistics.median(latencies), 2),
        "p99_ms": round(1000 * latencies[max(int(len(latencies) * 0.99) - 1, 0)], 2),
        "max_ms": round(1000 * latencies[-1], 2),
        "generator_cpu_s": round(cpu, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--parts", default="release,callbacks", help="release, callbacks or both")
    parser.add_argument("--households", type=int, default=200_000)
    parser.add_argument(
        "--dialects", default="gsma,mtn", help="release through: gsma (batches), mtn, wave (one by one)"
    )
    parser.add_argument(
        "--dispatchers", type=int, default=1, help="dispatcher processes (they share the work)"
    )
    parser.add_argument(
        "--provider-concurrency",
        type=int,
        default=None,
        help="the dispatcher's requests in flight per provider (FILET_PAYMENTS_CONCURRENCY; default: its own, 64)",
    )
    parser.add_argument("--callbacks", type=int, default=20_000, help="requests the load generator sends")
    parser.add_argument("--concurrency", type=int, default=32, help="the load generator's connections")
    parser.add_argument("--durable", action="store_true", help="embedded PostgreSQL with fsync on")
    parser.add_argument("--load", type=Path, help=argparse.SUPPRESS)  # the load generator's own process
    args = parser.parse_args()
    if args.load is not None:
        load(args.load)
        return
    parts = set(args.parts.split(","))
    work = scratch("filet-bench-pay-")
    supervisor = Supervisor(work / "logs")
    processes: list[subprocess.Popen[bytes]] = []
    try:
        database_url = (
            os.environ.get("DATABASE_URL")
            or EmbeddedPostgres(
                work / "pg", free_port(), supervisor, fast_and_unsafe=not args.durable
            ).start()
        )
        engine = build_engine(database_url, pool_size=2)
        migrate_all(engine)
        store = TokenStore(engine)
        tokens = {
            "maker": store.create(name="maker", role="operator"),
            "checker": store.create(name="checker", role="approver"),
        }
        sim_port, api_port = free_port(), free_port()
        api_url = f"http://127.0.0.1:{api_port}"
        config = work / "simulator.json"
        config.write_text(
            json.dumps(
                {
                    "wave": {"webhook_url": f"{api_url}/v1/callbacks/wave", "webhook_secret": SECRET},
                    "behaviour": {"all": {"processing_ms": 0}},
                }
            )
        )
        concurrency = (
            {}
            if args.provider_concurrency is None
            else {"FILET_PAYMENTS_CONCURRENCY": str(args.provider_concurrency)}
        )
        env = dict(
            os.environ,
            **concurrency,
            DATABASE_URL=database_url,
            FILET_SIMULATOR_URL=f"http://127.0.0.1:{sim_port}",
            FILET_PAYMENTS_URL=api_url,
            FILET_PAYMENTS_WAVE_WEBHOOK_SECRETS=SECRET,
            FILET_LOG_LEVEL="WARNING",
            PYTHONPATH=os.pathsep.join(sys.path[:3]),
        )
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "simulator", "--port", str(sim_port), "--config", str(config)],
                env=env,
                stdout=(work / "sim.log").open("wb"),
                stderr=subprocess.STDOUT,
            )
        )
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "payments.api.app", "--port", str(api_port)],
                env=env,
                stdout=(work / "api.log").open("wb"),
                stderr=subprocess.STDOUT,
            )
        )
        wait_http(f"http://127.0.0.1:{sim_port}/_admin/health")
        wait_http(f"{api_url}/healthz")
        results: dict[str, Any] = {
            "durable_postgres": args.durable or "DATABASE_URL" in os.environ,
            "provider_concurrency": args.provider_concurrency or "default (64)",
            "dispatcher_processes": args.dispatchers,
        }
        with httpx.Client(base_url=api_url, timeout=3600, trust_env=False) as api:
            if "callbacks" in parts:
                results["callbacks_wave_one_worker"] = run_callbacks(
                    engine,
                    api,
                    tokens,
                    api_url,
                    processes[1].pid,
                    count=args.callbacks,
                    concurrency=args.concurrency,
                    work=work,
                )
            if "release" in parts:
                results["households"] = args.households
                for dialect in args.dialects.split(","):
                    programme, code, operator, label = DIALECTS[dialect]
                    results[label] = run_release(
                        engine,
                        api,
                        tokens,
                        env,
                        programme=programme,
                        code=code,
                        operator=operator,
                        households=args.households,
                        logs=work,
                        others={"simulator": processes[0].pid, "payments_api": processes[1].pid},
                        pg_dir=None if "DATABASE_URL" in os.environ else work / "pg",
                        processes=args.dispatchers,
                    )
        results["peak_rss_mb"] = {
            "simulator": round(peak_rss_mb(processes[0].pid), 1),
            "payments_api": round(peak_rss_mb(processes[1].pid), 1),
        }
        results["cpu_s"] = {
            "simulator": cpu_seconds(processes[0].pid),
            "payments_api": cpu_seconds(processes[1].pid),
        }
        print(json.dumps(results, indent=2))
        engine.dispose()
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
        supervisor.stop_all()


if __name__ == "__main__":
    main()
