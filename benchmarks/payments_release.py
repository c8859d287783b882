"""Release of an N-household cycle against the simulator, batch (GSMA) and one request per payment (MTN), and the
callback endpoint's requests/s and p99 with one worker.

    .venv/bin/python benchmarks/payments_release.py [--households 200000] [--callbacks-seconds 10]

Embedded PostgreSQL (fast and unsafe) unless DATABASE_URL is set; simulator, payments API and dispatcher run as
separate processes so each one's CPU and peak RSS can be read from /proc.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
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

from filet.embedded import EmbeddedPostgres, free_port  # noqa: E402
from filet.processes import Supervisor  # noqa: E402
from filet.stack import migrate_all  # noqa: E402
from shared.auth import TokenStore  # noqa: E402
from shared.db import build_engine  # noqa: E402

SECRET = "bench-wave-secret"
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


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
) -> dict[str, Any]:
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
    dispatcher = subprocess.Popen(
        [sys.executable, "-m", "payments.dispatcher"],
        env=env,
        stdout=(logs / f"dispatcher-{code}.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        while True:
            with engine.connect() as conn:
                done = conn.execute(
                    text(
                        "SELECT count(*) FROM \"payments\".payment WHERE cycle_id = :c AND state IN ('SUCCEEDED','FAILED','REJECTED')"
                    ),
                    {"c": cycle_id},
                ).scalar_one()
            if done >= households:
                break
            if time.perf_counter() - started > 1800:
                raise RuntimeError(f"only {done} of {households} settled after 30 min")
            time.sleep(0.5)
        total_s = time.perf_counter() - started
        cpu, rss = cpu_seconds(dispatcher.pid), peak_rss_mb(dispatcher.pid)
    finally:
        dispatcher.terminate()
        dispatcher.wait(timeout=60)
    return {
        "entitlements_s": round(entitlements_s, 1),
        "release_s": round(release_s, 1),
        "total_s": round(total_s, 1),
        "payments_per_s": round(households / total_s, 1),
        "dispatcher_cpu_s_per_1000": round(1000 * cpu / households, 2),
        "dispatcher_peak_rss_mb": round(rss, 1),
    }


def callbacks(api_url: str, engine: Engine, seconds: float) -> dict[str, Any]:
    """Signed Wave callbacks (distinct events, existing references) from 8 client threads for `seconds`."""
    with engine.connect() as conn:
        rows = conn.execute(text('SELECT reference, amount FROM "payments".payment LIMIT 50000')).all()
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    def worker(offset: int) -> None:
        with httpx.Client(base_url=api_url, timeout=10, trust_env=False) as client:
            index = offset
            while time.monotonic() < deadline:
                reference, amount = rows[index % len(rows)]
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
                stamp = str(int(time.time()))
                signature = hmac.new(SECRET.encode(), stamp.encode() + body, hashlib.sha256).hexdigest()
                began = time.perf_counter()
                client.post(
                    "/v1/callbacks/wave",
                    content=body,
                    headers={"Wave-Signature": f"t={stamp},v1={signature}"},
                )
                latencies.append(time.perf_counter() - began)
                index += 8

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(worker, range(8)))
    elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "requests": len(latencies),
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(1000 * statistics.median(latencies), 1),
        "p99_ms": round(1000 * latencies[int(len(latencies) * 0.99) - 1], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--households", type=int, default=200_000)
    parser.add_argument("--callbacks-seconds", type=float, default=10.0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="filet-bench-pay-"))
    supervisor = Supervisor(work / "logs")
    processes: list[subprocess.Popen[bytes]] = []
    try:
        database_url = (
            os.environ.get("DATABASE_URL")
            or EmbeddedPostgres(work / "pg", free_port(), supervisor, fast_and_unsafe=True).start()
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
        env = dict(
            os.environ,
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
        results: dict[str, Any] = {"households": args.households}
        with httpx.Client(base_url=api_url, timeout=3600, trust_env=False) as api:
            results["batch_gsma"] = run_release(
                engine,
                api,
                tokens,
                env,
                programme="BATCH",
                code="B",
                operator="orange",
                households=args.households,
                logs=work,
            )
            results["single_mtn"] = run_release(
                engine,
                api,
                tokens,
                env,
                programme="SINGLE",
                code="S",
                operator="moov",
                households=args.households,
                logs=work,
            )
        results["callbacks_wave_one_worker"] = callbacks(api_url, engine, args.callbacks_seconds)
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
