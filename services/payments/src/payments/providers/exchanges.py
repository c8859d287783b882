"""Provider conversations written once and run two ways: blocking, or on an event loop.

An adapter method that talks to a provider is a generator (an `Exchange`): it yields each `Call` it needs and
is sent back the `httpx.Response` (or has the transport's `httpx.HTTPError` thrown in where it yielded), and
returns its result. The conversation — tokens, retries after a 401, a status query after a duplicate — lives
in the adapter; how the bytes travel does not. `run` drives one with a blocking client (tests, batches);
`run_async` with an asyncio client, so that one thread can hold hundreds of calls in flight (the dispatcher
measured ~690 µs of CPU per request across 32 threads against ~140 µs on one event loop).
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import httpx

from payments.providers.transport import Http, Params

T = TypeVar("T")

#: What a provider conversation is: yields calls, is sent their responses, returns its result.
Exchange = Generator["Call", httpx.Response, T]


@dataclass(frozen=True, slots=True)
class Call:
    """One HTTP request an exchange asks for; the timeout is never implied (a client default could be none)."""

    method: str
    url: str
    timeout: httpx.Timeout | float
    headers: Mapping[str, str] | None = None
    json: Any = None
    params: Params | None = None
    auth: tuple[str, str] | None = None


class AsyncHttp(Protocol):
    """What `run_async` asks of an asyncio HTTP client."""

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
    ) -> httpx.Response: ...


def run(exchange: Exchange[T], http: Http) -> T:
    """The exchange's result, each of its calls made in turn with a blocking client."""
    try:
        call = next(exchange)
        while True:
            try:
                response = http.request(
                    call.method,
                    call.url,
                    params=call.params,
                    headers=call.headers,
                    json=call.json,
                    auth=call.auth,
                    timeout=call.timeout,
                )
            except httpx.HTTPError as error:
                call = exchange.throw(error)
            else:
                call = exchange.send(response)
    except StopIteration as done:
        result: T = done.value
        return result


async def run_async(exchange: Exchange[T], http: AsyncHttp) -> T:
    """The exchange's result, each of its calls awaited on the running event loop."""
    try:
        call = next(exchange)
        while True:
            try:
                response = await http.request(
                    call.method,
                    call.url,
                    params=call.params,
                    headers=call.headers,
                    json=call.json,
                    auth=call.auth,
                    timeout=call.timeout,
                )
            except httpx.HTTPError as error:
                call = exchange.throw(error)
            else:
                call = exchange.send(response)
    except StopIteration as done:
        result: T = done.value
        return result
