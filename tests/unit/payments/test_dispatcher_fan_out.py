"""`fan_out`: the dispatcher's way of running one provider call per payment with bounded concurrency."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from payments.dispatcher import fan_out


def test_results_come_back_in_the_items_order_with_at_most_width_at_once() -> None:
    lock = threading.Lock()
    running = 0
    most = 0

    def work(item: int) -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.002 * (item % 3))
        with lock:
            running -= 1
        return item * 10

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = fan_out(pool, 4, work, list(range(200)))
    assert results == [item * 10 for item in range(200)]
    assert 2 <= most <= 4


def test_every_item_is_worked_on_once_and_no_items_is_no_work() -> None:
    seen: list[int] = []
    lock = threading.Lock()

    def work(item: int) -> None:
        with lock:
            seen.append(item)

    with ThreadPoolExecutor(max_workers=8) as pool:
        fan_out(pool, 8, work, list(range(1000)))
        assert fan_out(pool, 8, work, []) == []
    assert sorted(seen) == list(range(1000))


def test_a_failure_is_raised_once_the_other_items_are_done() -> None:
    done: list[int] = []
    lock = threading.Lock()

    def work(item: int) -> int:
        if item == 5:
            raise RuntimeError("bug in an adapter")
        with lock:
            done.append(item)
        return item

    with ThreadPoolExecutor(max_workers=4) as pool, pytest.raises(RuntimeError, match="bug in an adapter"):
        fan_out(pool, 4, work, list(range(50)))
    assert sorted(done) == [item for item in range(50) if item != 5]
