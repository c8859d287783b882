"""`CallLoop.fan_out`: one exchange per item on the dispatcher's event loop, bounded per provider and kind.

The client here is a stand-in that only counts and waits (the real one is tested against sockets in
`test_async_http.py`, and the dispatcher against the simulator in the integration tests): these tests are
about the scheduling — order, widths, rate slots, failures.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import pytest

from payments.call_loop import CallLoop
from payments.gateways import Gateway, RateLimit
from payments.providers.exchanges import Call, Exchange
from payments.providers.mtn import MtnMomoClient
from payments.providers.transport import Params


class CountingClient:
    """Answers every call after a short wait, with the path as body; remembers the most calls at once."""

    def __init__(self) -> None:
        self.in_flight: dict[str, int] = {}
        self.most: dict[str, int] = {}
        self.calls: list[str] = []
        self.closed = False

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Params | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        auth: tuple[str, str] | None = None,
        timeout: httpx.Timeout | float | None = None,
    ) -> httpx.Response:
        kind = url.split("/")[1]
        self.calls.append(url)
        self.in_flight[kind] = self.in_flight.get(kind, 0) + 1
        self.most[kind] = max(self.most.get(kind, 0), self.in_flight[kind])
        await asyncio.sleep(0.001 * (len(self.calls) % 3))
        self.in_flight[kind] -= 1
        return httpx.Response(200, content=url.encode())

    async def aclose(self) -> None:
        self.closed = True


def gateway(name: str = "mtn", *, concurrency: int = 4, rate: float = 0.0) -> Gateway:
    client = MtnMomoClient(
        httpx.Client(),
        base_url="http://unused",
        api_user="u",
        api_key="k",
        subscription_key="s",
        target_environment="sandbox",
    )
    return Gateway(name, client, rate=RateLimit(rate), concurrency=concurrency)


def ask(kind: str) -> Any:
    def exchange(item: int) -> Exchange[str]:
        response = yield Call("GET", f"/{kind}/{item}", timeout=1.0)
        return response.text

    return exchange


@pytest.fixture
def client() -> CountingClient:
    return CountingClient()


@pytest.fixture
def calls(client: CountingClient) -> Iterator[CallLoop]:
    loop = CallLoop(lambda: client)
    yield loop
    loop.close()


def test_results_come_back_in_the_items_order_with_at_most_the_width_in_flight(
    calls: CallLoop, client: CountingClient
) -> None:
    results = calls.fan_out(gateway(concurrency=4), "send", ask("send"), list(range(300)))
    assert results == [f"/send/{item}" for item in range(300)]
    assert sorted(client.calls) == sorted(f"/send/{item}" for item in range(300))
    assert 2 <= client.most["send"] <= 4
    assert calls.fan_out(gateway(), "send", ask("send"), []) == []


def test_two_threads_sending_for_one_provider_share_its_width_and_queries_have_their_own(
    calls: CallLoop, client: CountingClient
) -> None:
    mtn = gateway(concurrency=5)
    results: dict[str, list[str]] = {}

    def run(name: str, kind: str) -> None:
        results[name] = calls.fan_out(mtn, kind, ask(kind), list(range(200)))

    threads = [
        threading.Thread(target=run, args=("send-1", "send")),
        threading.Thread(target=run, args=("send-2", "send")),
        threading.Thread(target=run, args=("query", "query")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results["send-1"] == results["send-2"] == [f"/send/{item}" for item in range(200)]
    assert results["query"] == [f"/query/{item}" for item in range(200)]
    assert client.most["send"] == 5  # two chunks of 200 at once, never more than the provider's 5
    assert 2 <= client.most["query"] <= 5


def test_each_call_takes_a_rate_slot_first(calls: CallLoop, monkeypatch: pytest.MonkeyPatch) -> None:
    paced = gateway(rate=1000.0)
    taken: list[float] = []
    reserve = paced.rate.reserve

    def counted() -> float:
        delay = reserve()
        taken.append(delay)
        return delay

    monkeypatch.setattr(paced.rate, "reserve", counted)
    assert len(calls.fan_out(paced, "send", ask("send"), list(range(50)))) == 50
    assert len(taken) == 50
    assert max(taken) > 0  # 50 calls at 1,000/s: the later ones waited for their slot


def test_a_failing_exchange_is_raised_once_the_other_calls_are_done(
    calls: CallLoop, client: CountingClient
) -> None:
    def exchange(item: int) -> Exchange[str]:
        response = yield Call("GET", f"/send/{item}", timeout=1.0)
        if item == 5:
            raise RuntimeError("bug in an adapter")
        return response.text

    with pytest.raises(RuntimeError, match="bug in an adapter"):
        calls.fan_out(gateway(), "send", exchange, list(range(50)))
    assert len(client.calls) == 50


def test_closing_closes_the_client(client: CountingClient) -> None:
    loop = CallLoop(lambda: client)
    loop.close()
    loop.close()
    assert client.closed
