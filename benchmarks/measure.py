"""What the benchmarks share: scratch folders, waiting for a process to answer, and what they read from /proc
(a process's CPU seconds and peak RSS, the embedded PostgreSQL's CPU)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import time
from pathlib import Path

import httpx


def scratch(prefix: str) -> Path:
    """A fresh folder under the system's temporary folder, removed when the benchmark exits (after its
    processes are stopped) unless FILET_BENCH_KEEP is set (to read the processes' logs afterwards)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    if not os.environ.get("FILET_BENCH_KEEP"):
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds(data_dir: Path | None) -> float:
    """User + system CPU time so far of the embedded PostgreSQL's live processes (0 with DATABASE_URL)."""
    if data_dir is None:
        return 0.0
    pids = [entry.name for entry in Path("/proc").iterdir() if entry.name.isdigit()]
    cluster: set[str] = set()
    parents: dict[str, str] = {}
    for pid in pids:
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[pid] = stat[1]
        if b"-D\0" + str(data_dir).encode() in command:
            cluster.add(pid)
    cluster |= {pid for pid, parent in parents.items() if parent in cluster}
    total = 0.0
    for pid in cluster:
        try:
            total += cpu_seconds(int(pid))
        except OSError:
            continue
    return total


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set (VmHWM), in MB."""
    with open(f"/proc/{pid}/status") as status:
        return int(next(line for line in status if line.startswith("VmHWM")).split()[1]) / 1024


def wait_http(url: str, *, timeout: float = 60, hint: str = "") -> None:
    """Until `url` answers below 500; a RuntimeError (with `hint`, e.g. where the log is) after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s{'; ' + hint if hint else ''}")
