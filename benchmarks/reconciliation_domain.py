"""Benchmark of the reconciliation domain: parse, check, match and summarise a generated camt.053.

Run from the repository root: `python -m benchmarks.reconciliation_domain --entries 200000`.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TypeVar

import orjson

from benchmarks.camt_file import ACCOUNT, DAY, write_camt
from reconciliation.domain.matching import Expectation, PaymentState, Reconciliation, reconcile
from reconciliation.domain.summary import Category, CycleSummary, summarise
from reconciliation.statements.camt053 import parse_camt053
from reconciliation.statements.checks import Verdict, check_statement
from reconciliation.statements.lines import Statement

T = TypeVar("T")


def _timed(stage: str, timings: dict[str, tuple[float, float]], work: Callable[[], T]) -> T:
    """Run one stage, recording (wall, CPU) seconds: on a shared machine the two differ."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    timings[stage] = (time.perf_counter() - wall, time.process_time() - cpu)
    return result


def _expectations(path: Path) -> list[Expectation]:
    day = date.fromisoformat(DAY)
    shared: dict[str, str] = {}
    expectations = []
    with path.open("rb") as file:
        for raw in file:
            row = orjson.loads(raw)
            expectations.append(
                Expectation(
                    instruction_id=row["instruction_id"],
                    provider=shared.setdefault(row["provider"], row["provider"]),
                    payee=row["payee"],
                    amount=row["amount"],
                    state=PaymentState(row["state"]),
                    instructed_on=day,
                    programme=shared.setdefault(row["programme"], row["programme"]),
                    region=shared.setdefault(row["region"], row["region"]),
                    commune=shared.setdefault(row["commune"], row["commune"]),
                    modality=shared.setdefault(row["modality"], row["modality"]),
                )
            )
    return expectations


def _parse(path: Path) -> Statement:
    with path.open("rb") as file:
        [statement] = parse_camt053(file, max_bytes=4 * 1024**3)
    return statement


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(entries: int, folder: Path) -> bool:
    statement_path = folder / f"camt053_{entries}.xml"
    expectations_path = folder / f"camt053_{entries}.expectations.jsonl"
    timings: dict[str, tuple[float, float]] = {}
    truth = _timed(
        "generate", timings, lambda: write_camt(statement_path, expectations_path, entries=entries)
    )
    size_mb = statement_path.stat().st_size / 1024**2
    rss_before = _peak_rss_mb()
    expectations = _timed("load expectations", timings, lambda: _expectations(expectations_path))
    statement = _timed("parse", timings, lambda: _parse(statement_path))
    verdict: Verdict = _timed(
        "check",
        timings,
        lambda: check_statement(statement, known_accounts={ACCOUNT}, imported_sha256=set(), previous=None),
    )
    result: Reconciliation = _timed(
        "match",
        timings,
        lambda: reconcile(expectations, statement.lines, settled_through={"bank": date.fromisoformat(DAY)}),
    )
    summary: CycleSummary = _timed("summarise", timings, lambda: summarise(result.instructions, result.lines))
    domain_wall = sum(wall for stage, (wall, _) in timings.items() if stage != "generate")
    domain_cpu = sum(cpu for stage, (_, cpu) in timings.items() if stage != "generate")

    found_instructions = Counter(item.outcome.value for item in result.instructions)
    found_lines = Counter(item.outcome.value for item in result.lines)
    correct = (
        verdict.accepted
        and found_instructions == truth.instructions
        and found_lines == truth.lines
        and summary.total[Category.PLANNED].count == len(expectations)
    )
    print(
        f"entries: {entries:,}  file: {size_mb:,.0f} MB  lines: {len(statement.lines):,}  expectations: {len(expectations):,}"
    )
    print(f"  {'stage':<18} {'wall s':>8} {'cpu s':>8}")
    for stage, (wall, cpu) in timings.items():
        print(f"  {stage:<18} {wall:8.2f} {cpu:8.2f}")
    print(
        f"  parse rate         {entries / timings['parse'][0]:,.0f} entries/s wall, {entries / timings['parse'][1]:,.0f} cpu"
    )
    print(
        f"  domain total       {domain_wall:8.2f} {domain_cpu:8.2f}  ({entries / domain_wall:,.0f} entries/s wall)"
    )
    print(f"  peak RSS           {_peak_rss_mb():,.0f} MB (after generation: {rss_before:,.0f} MB)")
    print(f"  instructions       {dict(sorted(found_instructions.items()))}")
    print(f"  lines              {dict(sorted(found_lines.items()))}")
    print(f"  ground truth       {'matches' if correct else 'DIFFERS'}")
    return correct


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument(
        "--dir", type=Path, default=None, help="where to write the files (default: a temporary folder)"
    )
    arguments = parser.parse_args()
    if arguments.dir is not None:
        ok = run(arguments.entries, arguments.dir)
    else:
        with tempfile.TemporaryDirectory(prefix="filet-bench-") as folder:
            ok = run(arguments.entries, Path(folder))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
