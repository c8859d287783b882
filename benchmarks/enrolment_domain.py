"""Times the import reader and the duplicate index over a generated RSU file, and scores them on its truth.

    python -m filet.registry_sample --households 200000 --out /tmp/rsu.csv
    python benchmarks/enrolment_domain.py /tmp/rsu.csv

Two passes over the file: parsing alone (its peak RSS shows the reader does not hold the file), then
parsing with every accepted household added to a `DuplicateIndex`. Precision counts a proposed pair as right
when both rows belong to the same planted group (an original and its duplicates); recall counts the planted
(duplicate, original) pairs that were proposed.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

from enrolment.domain.deduplication import DuplicateIndex
from enrolment.domain.households import Household
from enrolment.domain.imports import read_csv


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Clock:
    """Wall and CPU seconds spent inside `with clock:` blocks (the machine may be shared: CPU tells more)."""

    def __init__(self) -> None:
        self.wall = self.cpu = 0.0

    def __enter__(self) -> None:
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def __exit__(self, *_: object) -> None:
        self.wall += time.perf_counter() - self._wall
        self.cpu += time.process_time() - self._cpu

    def rate(self, count: int, what: str) -> str:
        return f"{self.wall:.1f} s wall, {self.cpu:.1f} s CPU = {count / self.cpu:,.0f} {what}/s of CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", type=Path, help="a file written by filet.registry_sample (truth alongside)")
    path = parser.parse_args().csv
    truth = json.loads(path.with_suffix(".truth.json").read_text(encoding="utf-8"))
    print(f"{path}: {path.stat().st_size / 1e6:.1f} MB, peak RSS before reading {peak_rss_mb():.0f} MB")

    parsing = Clock()
    with parsing, path.open("rb") as file:
        rows = sum(1 for _ in read_csv(file))
    print(f"parse only:   {rows} rows, {parsing.rate(rows, 'rows')}; peak RSS {peak_rss_mb():.0f} MB")

    index: DuplicateIndex[int] = DuplicateIndex()
    proposed: set[tuple[int, int]] = set()
    rejected: dict[int, set[str]] = {}
    everything, indexing = Clock(), Clock()
    with everything, path.open("rb") as file:
        for row_number, parsed in read_csv(file):
            if not isinstance(parsed, Household):
                rejected[row_number] = {error.field for error in parsed}
                continue
            with indexing:
                found = index.add(row_number, parsed)
            proposed |= {(duplicate.of, row_number) for duplicate in found}
    households = rows - len(rejected)
    print(f"parse+dedup:  {rows} rows, {everything.rate(rows, 'rows')}")
    print(f"  dedup only: {households} households, {indexing.rate(households, 'households')}")
    print(f"  peak RSS {peak_rss_mb():.0f} MB (the index holds every household's keys)")

    group = {row: planted["of"] for planted in truth["duplicates"] for row in (planted["row"], planted["of"])}
    right = sum(1 for a, b in proposed if a in group and group[a] == group.get(b))
    planted = {(d["of"], d["row"]) for d in truth["duplicates"]}
    found_pairs = len(planted & proposed)
    print(
        f"duplicates:   {len(proposed)} pairs proposed, {right} right; {found_pairs}/{len(planted)} planted found"
    )
    print(
        f"              precision {right / max(len(proposed), 1):.4f}, recall {found_pairs / len(planted):.4f}"
    )
    for kind in sorted({d["kind"] for d in truth["duplicates"]}):
        of_kind = {(d["of"], d["row"]) for d in truth["duplicates"] if d["kind"] == kind}
        print(
            f"              recall {kind}: {len(of_kind & proposed) / len(of_kind):.4f} ({len(of_kind)} planted)"
        )
    bad = {b["row"]: b["field"] for b in truth["bad"]}
    caught = sum(1 for row, field in bad.items() if field in rejected.get(row, ()))
    print(
        f"bad rows:     {caught}/{len(bad)} rejected on the planted field; {len(rejected.keys() - bad)} others rejected"
    )


if __name__ == "__main__":
    main()
