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

    def options(self) -> dict[str, Any]:
        """The request's keyword arguments, as both kinds of client take them."""
        return {
            "params": self.params,
            "headers": self.headers,
            "json": self.json,
            "auth": self.auth,
            "timeout": self.timeout,
        }


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


@dataclass(frozen=True, slots=True)
class _Done:
    value: Any


def _advance(exchange: Exchange[T], answer: httpx.Response | httpx.HTTPError | None) -> Call | _Done:
    """Start the exchange (`answer` None), or give it the answer to its last call: its next call, or its result."""
    try:
        if answer is None:
            return next(exchange)
        if isinstance(answer, httpx.HTTPError):
            return exchange.throw(answer)
        return exchange.send(answer)
    except StopIteration as done:
        return _Done(done.value)


def run(exchange: Exchange[T], http: Http) -> T:
    """The exchange's result, each of its calls made in turn with a blocking client."""
    step = _advance(exchange, None)
    while isinstance(step, Call):
        try:
            answer: httpx.Response | httpx.HTTPError = http.request(step.method, step.url, **step.options())
        except httpx.HTTPError as error:
            answer = error
        step = _advance(exchange, answer)
    result: T = step.value
    return result


async def run_async(exchange: Exchange[T], http: AsyncHttp) -> T:
    """The exchange's result, each of its calls awaited on the running event loop."""
    step = _advance(exchange, None)
    while isinstance(step, Call):
        try:
            answer: httpx.Response | httpx.HTTPError = await http.request(
                step.method, step.url, **step.options()
            )
        except httpx.HTTPError as error:
            answer = error
        step = _advance(exchange, answer)
    result: T = step.value
    return result
