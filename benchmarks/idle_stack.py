"""Benchmark: what the whole stack costs while nobody uses it (CPU seconds per process over a quiet period).

    python benchmarks/idle_stack.py [--seconds 30] [--dispatchers 2]

Starts everything on the embedded default, waits for it to settle, then prints the CPU each process
(PostgreSQL's backends together) spent over `--seconds` with no work at all: the price of polling.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `benchmarks.…` when run as a script

from benchmarks.full_cycle import cpu_by_process, embedded_stack
from benchmarks.measure import scratch


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--dispatchers", type=int, default=2)
    args = parser.parse_args()
    stack, _ = embedded_stack(scratch("filet-bench-idle-"), topic_prefix="idle", dispatchers=args.dispatchers)
    try:
        stack.start()
        time.sleep(10)  # start-up work (migrations, topic metadata, first polls) is not idling
        before = cpu_by_process(stack)
        time.sleep(args.seconds)
        after = cpu_by_process(stack)
    finally:
        stack.stop()
    spent = sorted(((name, after[name] - before.get(name, 0.0)) for name in after), key=lambda item: -item[1])
    total = sum(seconds for _, seconds in spent)
    print(f"idle for {args.seconds:.0f} s: {total:.2f} CPU s ({total / args.seconds:.2f} of a core)")
    for name, seconds in spent:
        print(f"  {name:<26} {seconds:6.2f} s")


if __name__ == "__main__":
    main()
