"""A service process starts with its collector running in large steps."""

from __future__ import annotations

import ast
import subprocess
import sys

from shared.runtime import GC_THRESHOLDS


def test_a_started_process_collects_garbage_in_large_steps() -> None:
    script = (
        "import gc; print(gc.get_threshold()); from shared.runtime import start_process; "
        "start_process('a-process', 'WARNING'); print(gc.get_threshold())"
    )
    started = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )

    before, after = (ast.literal_eval(line) for line in started.stdout.splitlines())
    assert (before, after) == ((700, 10, 10), GC_THRESHOLDS)
