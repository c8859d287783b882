"""Each provider's width (requests in flight) and pace (requests per second), from the environment."""

from __future__ import annotations

from itertools import pairwise

import httpx
import pytest

from payments.gateways import RateLimit, build_gateways
from payments.settings import PaymentsSettings
from shared.settings import Settings


def _gateways(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, tuple[int, RateLimit]]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with httpx.Client() as http:
        gateways = build_gateways(Settings(), PaymentsSettings(), http)
    return {name: (gateway.concurrency, gateway.rate) for name, gateway in gateways.items()}


def test_a_provider_of_its_own_keeps_its_width_and_the_others_take_the_common_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    widths = _gateways(monkeypatch, FILET_PAYMENTS_CONCURRENCY="24", FILET_PAYMENTS_MTN_CONCURRENCY="8")
    assert {name: width for name, (width, _) in widths.items()} == {"gsma": 24, "mtn": 8, "wave": 24}


def test_the_common_width_is_64_when_nothing_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FILET_PAYMENTS_CONCURRENCY", raising=False)
    widths = _gateways(monkeypatch)
    assert {width for width, _ in widths.values()} == {64}


def test_a_provider_rate_limit_paces_its_calls_only(monkeypatch: pytest.MonkeyPatch) -> None:
    paces = _gateways(monkeypatch, FILET_PAYMENTS_WAVE_RATE_LIMIT="50")
    waits: list[float] = []
    monkeypatch.setattr("payments.gateways.time.sleep", waits.append)
    for _ in range(11):
        paces["wave"][1].wait()
    # The first call goes at once; the others are given slots 20 ms apart (nobody sleeps here, so each
    # waits for its slot from about the same moment).
    assert len(waits) == 10
    assert waits[-1] == pytest.approx(0.2, abs=0.01)
    assert all(later - earlier == pytest.approx(0.02, abs=0.005) for earlier, later in pairwise(waits))
    waits.clear()
    for _ in range(200):
        paces["mtn"][1].wait()
    assert waits == []


def test_a_width_below_one_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FILET_PAYMENTS_GSMA_CONCURRENCY", "0")
    with pytest.raises(ValueError, match="gsma_concurrency"):
        PaymentsSettings()
