"""An HTTP/1.1 client on asyncio streams: the event-loop twin of `DirectHttp(KeepAliveTransport())`.

The dispatcher held 32 requests in flight with 32 threads, each with its own blocking keep-alive connection:
a request cost ~690-830 µs of CPU that way, most of it threads taking turns at the GIL. On one event loop,
this client measured ~180-215 µs (20,000 JSON POSTs to a local server, 32 in flight), of which bare asyncio
streams cost ~50-100 µs on the same bench and building the `httpx.Response` ~30-60 µs. It lets one loop hold
as many requests in flight as the dispatcher allows, and keeps what the threaded client promised the adapters:

- the same requests (headers, JSON body, basic auth, query parameters) and the same `httpx.Response`s;
- keep-alive with the same care: an idle connection the server has closed meanwhile is noticed before it
  is reused, so a request is never written into a socket we could have known was dead;
- the request timeouts, and failures surfacing as httpx's exceptions (`ConnectError`, `ConnectTimeout`,
  `ReadTimeout`, `RemoteProtocolError`, …): the adapters catch `httpx.HTTPError` and nothing else;
- nothing is retried here: a payment request whose connection dropped after it was written may have moved
  the money, so only the adapter, which knows how to ask the provider, decides what happens next.

Bodies are read whole (no streaming); redirects are not followed (a 3xx is an answer like any other).
"""

from __future__ import annotations

import asyncio
import base64
import re
import select
import ssl
from collections.abc import Mapping
from typing import Any
from urllib.parse import SplitResult, quote, urlencode, urlsplit

import httpx
import orjson

from payments.providers.transport import Params

_Origin = tuple[str, str, int]
_Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]
_Place = tuple[_Origin, str]
_Headers = list[tuple[bytes, bytes]]

_DEFAULT_PORTS = {"http": 80, "https": 443}
#: Methods whose empty body is still announced (`Content-Length: 0`), as httpx and servers expect.
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_FRAMING = frozenset({"content-length", "transfer-encoding"})
_FRAMING_AND_AUTH = _FRAMING | {"authorization"}
#: How long `aclose` waits for TLS close handshakes before dropping the sockets.
_CLOSE_GRACE = 1.0
#: Authorities whose origin is remembered (forgotten all at once beyond: a bound, not a cache policy).
_PLACES = 256

# RFC 9110 tokens (methods, header names), and the characters a path or query may carry as they are; anything
# else is percent-encoded, while an existing %XX is sent as given (a provider's id may be encoded on purpose).
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_TOKENS = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+(?: [!#$%&'*+\-.^_`|~0-9A-Za-z]+)*")
_TOKEN_BYTES = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_PLAIN_PATH = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*")
_PLAIN_QUERY = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*")
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")


class AsyncHttp:
    """Requests written straight onto pooled asyncio connections, answers read whole into `httpx.Response`s.

    Used from one event loop: it is not thread-safe, and its connections belong to the loop that opened them
    (should another loop come to use it, the earlier loop's idle connections are forgotten, never reused).
    The pool keeps every idle connection per origin, without bound: the caller bounds the requests in flight,
    hence the connections. The most recently returned connection is reused first, the one least likely to
    have been closed by the server for idleness.

    Timeouts are httpx's: `connect` bounds opening the connection (TCP and TLS), `write` handing the request
    to the socket, and `read` the whole answer, not each socket read as httpcore does: an answer trickling in
    does not outlive it (the providers' answers are small; a deadline is what the dispatcher wants).

    The response has no `.request` (an `httpx.Request` cost ~70 µs of CPU to build, as much as everything else
    this client does for a request): `raise_for_status()` and `.url` are not available on it.
    """

    def __init__(self, *, tls: ssl.SSLContext | None = None, user_agent: str = "filet") -> None:
        self._tls = tls or ssl.create_default_context()
        self._user_agent = user_agent
        self._idle: dict[_Origin, list[_Connection]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        #: Origin and Host header per scheme and authority as written in URLs: the providers are a handful.
        self._places: dict[tuple[str, str], _Place] = {}

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
        """The answer to one request, on a pooled connection to the URL's origin or a new one.

        `params` are appended to the URL's own query (httpx's `Request` would replace it).
        """
        method = method.upper()
        try:
            parts = urlsplit(url)
        except (
            ValueError
        ) as error:  # as httpx: a URL that cannot be parsed is the caller's, not a transport error
            raise httpx.InvalidURL(f"Invalid URL {url!r}: {error}") from error
        place = self._places.get((parts.scheme, parts.netloc))
        if place is None:
            place = _place(parts, url)
            if len(self._places) >= _PLACES:
                self._places.clear()
            self._places[parts.scheme, parts.netloc] = place
        origin, host = place
        target = _target(parts.path, parts.query, params)
        message, close = self._message(method, host, target, headers, json, auth)
        timeouts = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        connection = self._take(origin)
        if connection is None:
            connection = await self._open(origin, timeouts.connect)
        reader, writer = connection
        try:
            await _send(writer, message, timeouts.write)
            response, reusable = await _receive(reader, method, timeouts.read)
        except BaseException:  # cancelled too: a half-read answer would be taken for the next request's
            writer.transport.abort()
            raise
        if reusable and not close:
            self._idle.setdefault(origin, []).append(connection)
        else:
            writer.close()
        return response

    async def aclose(self) -> None:
        """Close the idle connections (those in use when called are closed by their request if not reusable).

        TLS connections get `_CLOSE_GRACE` to say goodbye properly; then every socket is dropped regardless.
        """
        idle, self._idle = self._idle, {}
        writers = [writer for connections in idle.values() for _, writer in connections]
        for writer in writers:
            writer.close()
        try:
            async with asyncio.timeout(_CLOSE_GRACE):
                await asyncio.gather(*(writer.wait_closed() for writer in writers), return_exceptions=True)
        except TimeoutError:
            for writer in writers:
                writer.transport.abort()

    def _message(
        self,
        method: str,
        host: str,
        target: str,
        headers: Mapping[str, str] | None,
        json: Any,
        auth: tuple[str, str] | None,
    ) -> tuple[bytes, bool]:
        """The request's bytes, head and body in one piece (a small request is one send), and whether the
        caller asked for the connection to be closed after the answer."""
        if not _TOKEN.fullmatch(method):
            raise httpx.LocalProtocolError(f"Invalid HTTP method {method!r}")
        given: set[str] = set()
        close = False
        if headers:
            # Checked all at once (a regex call per header cost more than the rest of the head): names are
            # tokens, and no value can end its line early to smuggle in a header or a request of its own.
            names = " ".join(headers)
            values = "".join(headers.values())
            if (
                not _TOKENS.fullmatch(names)
                or names.count(" ") != len(headers) - 1  # a name with a space in it
                or "\n" in values
                or "\r" in values
                or "\0" in values
            ):
                raise httpx.LocalProtocolError(f"Invalid HTTP header among {list(headers)!r}")
            given = {name.lower() for name in headers}
            if "connection" in given:
                close = any(n.lower() == "connection" and "close" in v.lower() for n, v in headers.items())
        lines = [f"{method} {target} HTTP/1.1\r\n"]
        if "host" not in given:
            lines.append(f"Host: {host}\r\n")
        if "accept" not in given:
            lines.append("Accept: */*\r\n")
        if "user-agent" not in given:
            lines.append(f"User-Agent: {self._user_agent}\r\n")
        if headers:
            # The body's framing is ours to state; basic auth, when asked, replaces the caller's.
            ours = _FRAMING if auth is None else _FRAMING_AND_AUTH
            if given.isdisjoint(ours):
                lines.extend(f"{name}: {value}\r\n" for name, value in headers.items())
            else:
                lines.extend(f"{n}: {v}\r\n" for n, v in headers.items() if n.lower() not in ours)
        if auth is not None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii")
            lines.append(f"Authorization: Basic {token}\r\n")
        body = b""
        if json is not None:  # orjson, as DirectHttp: the stdlib's json costs several times more per body
            body = orjson.dumps(json)
            if "content-type" not in given:
                lines.append("Content-Type: application/json\r\n")
        if body or method in _BODY_METHODS:
            lines.append(f"Content-Length: {len(body)}\r\n")
        lines.append("\r\n")
        try:
            return "".join(lines).encode("latin-1") + body, close
        except UnicodeEncodeError as error:
            raise httpx.LocalProtocolError(f"A header is not latin-1: {error}") from error

    def _take(self, origin: _Origin) -> _Connection | None:
        """An idle connection to the origin still fit to carry a request, or None (then one is opened)."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            # Another loop's transports cannot be driven (nor even closed) from this one.
            self._idle = {}
            self._loop = loop
        idle = self._idle.get(origin)
        while idle:
            connection = idle.pop()
            if _alive(connection):
                return connection
            connection[1].transport.abort()
        return None

    async def _open(self, origin: _Origin, timeout: float | None) -> _Connection:
        scheme, host, port = origin
        tls = self._tls if scheme == "https" else None
        try:
            async with asyncio.timeout(timeout):
                return await asyncio.open_connection(
                    host, port, ssl=tls, server_hostname=host if tls is not None else None
                )
        except TimeoutError as error:  # before OSError: asyncio's timeout is a TimeoutError, an OSError
            raise httpx.ConnectTimeout(f"Timed out connecting to {host}:{port}") from error
        except OSError as error:  # refused, unreachable, unknown host, TLS handshake or certificate
            raise httpx.ConnectError(f"{type(error).__name__}: {error}") from error


def _place(parts: SplitResult, url: str) -> _Place:
    """The URL's origin and its `Host` header, without the cost of an `httpx.URL`."""
    scheme = parts.scheme
    if scheme not in _DEFAULT_PORTS:
        raise httpx.UnsupportedProtocol(f"Request URL has an unsupported protocol {scheme + '://'!r}.")
    host = parts.hostname
    if not host:
        raise httpx.InvalidURL(f"Request URL has no host: {url!r}")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError as error:
            raise httpx.InvalidURL(f"Invalid host in {url!r}: {error}") from error
    try:
        port = parts.port or _DEFAULT_PORTS[scheme]
    except ValueError as error:
        raise httpx.InvalidURL(f"Invalid port in {url!r}: {error}") from error
    authority = f"[{host}]" if ":" in host else host
    if port != _DEFAULT_PORTS[scheme]:
        authority = f"{authority}:{port}"
    return (scheme, host, port), authority


def _target(path: str, query: str, params: Params | None) -> str:
    """The request target: the path and query as given, percent-encoded only where they could not be sent."""
    path = path or "/"
    if not _PLAIN_PATH.fullmatch(path):
        path = quote(path, safe="!$&'()*+,;=:@/%")
    if query and not _PLAIN_QUERY.fullmatch(query):
        query = quote(query, safe="!$&'()*+,;=:@/?%")
    if params:
        # Booleans as httpx writes them (true/false), not as str() does.
        extra = urlencode(
            {
                name: ("true" if value else "false") if isinstance(value, bool) else value
                for name, value in params.items()
            }
        )
        query = f"{query}&{extra}" if query else extra
    return f"{path}?{query}" if query else path


def _alive(connection: _Connection) -> bool:
    """Whether an idle connection may carry a request: nothing arrived on it since its last answer.

    The loop may not have seen yet what the kernel already holds (the server's FIN, a 408 before it closes),
    so the socket is polled too, as httpcore does: an idle connection has nothing to read unless it is done.
    """
    reader, writer = connection
    if writer.is_closing() or reader.at_eof() or reader.exception() is not None:
        return False
    # Bytes no request asked for must never be taken for the next answer; StreamReader has no public way to
    # tell whether it holds any (at_eof() is false while it does), hence its private buffer, read defensively.
    if getattr(reader, "_buffer", None):
        return False
    sock = writer.get_extra_info("socket")
    if sock is None:
        return True
    try:
        poller = select.poll()
        poller.register(sock.fileno(), select.POLLIN)
        return not poller.poll(0)
    except (OSError, ValueError):
        return False


async def _send(writer: asyncio.StreamWriter, message: bytes, timeout: float | None) -> None:
    try:
        writer.write(message)
        if timeout is None or not writer.transport.get_write_buffer_size():
            # What the kernel took at once is written: no timer to arm (drain still reports a lost connection).
            await writer.drain()
            return
        async with asyncio.timeout(timeout):
            await writer.drain()
    except TimeoutError as error:
        raise httpx.WriteTimeout("Timed out writing the request") from error
    except (OSError, RuntimeError) as error:  # RuntimeError: a transport already closed for writing
        raise httpx.WriteError(f"{type(error).__name__}: {error}") from error


async def _receive(
    reader: asyncio.StreamReader, method: str, timeout: float | None
) -> tuple[httpx.Response, bool]:
    """The answer, and whether its connection can carry another request."""
    try:
        if timeout is None:
            return await _read_answer(reader, method)
        async with asyncio.timeout(timeout):
            return await _read_answer(reader, method)
    except TimeoutError as error:  # before OSError, as above
        raise httpx.ReadTimeout("Timed out reading the answer") from error
    except asyncio.IncompleteReadError as error:
        raise httpx.RemoteProtocolError(
            f"Server disconnected in the middle of its answer ({len(error.partial)} bytes of a part read)."
        ) from error
    except (asyncio.LimitOverrunError, ValueError) as error:  # the StreamReader's limit (64 KiB) on a line
        raise httpx.RemoteProtocolError(f"Answer's head or chunk line too long: {error}") from error
    except OSError as error:
        raise httpx.ReadError(f"{type(error).__name__}: {error}") from error


async def _read_answer(reader: asyncio.StreamReader, method: str) -> tuple[httpx.Response, bool]:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as error:
        if error.partial:
            raise
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.") from error
    version, status, reason, headers = _parse_head(head)
    while 100 <= status < 200 and status != 101:  # interim answers (100 Continue, 103 Early Hints)
        version, status, reason, headers = _parse_head(await reader.readuntil(b"\r\n\r\n"))
    lengths: list[bytes] = []
    codings: list[bytes] = []
    options: list[bytes] = []
    for name, value in headers:
        lowered = name.lower()
        if lowered == b"content-length":
            lengths.append(value)
        elif lowered == b"transfer-encoding":
            codings.append(value)
        elif lowered == b"connection":
            options.append(value)
    tokens = {token.strip() for value in options for token in value.lower().split(b",")}
    reusable = (
        b"keep-alive" in tokens if version == b"HTTP/1.0" else b"close" not in tokens
    ) and status != 101
    if method == "HEAD" or status in (204, 304) or status < 200:
        body = b""
    elif codings:
        # RFC 9112 §6.3: chunked last means chunked; any other coding runs to the close. Beside a Content-Length,
        # Transfer-Encoding wins, and the connection is not trusted further.
        if b",".join(codings).lower().rsplit(b",", 1)[-1].strip() == b"chunked":
            body = await _read_chunked(reader)
        else:
            body = await reader.read()
            reusable = False
        if lengths:
            reusable = False
    elif lengths:
        body = await reader.readexactly(_content_length(lengths))
    else:
        body = await reader.read()
        reusable = False
    response = httpx.Response(
        status,
        headers=headers,
        # A stream read at once: `content=` costs ~30 µs against ~18 µs, recomputing a Content-Length.
        stream=httpx.ByteStream(body),
        extensions={"http_version": version, "reason_phrase": reason},
    )
    response.read()
    return response, reusable


def _parse_head(head: bytes) -> tuple[bytes, int, bytes, _Headers]:
    """Status line and header fields of a head ending in CRLF CRLF; anything not HTTP/1.x is refused."""
    lines = head[:-4].split(b"\r\n")
    version, _, rest = lines[0].partition(b" ")
    code, _, reason = rest.partition(b" ")
    if version not in (b"HTTP/1.1", b"HTTP/1.0") or len(code) != 3 or not code.isdigit():
        raise httpx.RemoteProtocolError(f"Not an HTTP/1.1 status line: {lines[0][:100]!r}")
    headers: _Headers = []
    for line in lines[1:]:
        if line[:1] in (b" ", b"\t"):  # obsolete line folding: the value goes on
            if not headers:
                raise httpx.RemoteProtocolError("Answer's head starts with a continuation line")
            name, value = headers[-1]
            headers[-1] = (name, value + b" " + line.strip(b" \t"))
            continue
        name, colon, value = line.partition(b":")
        if not colon or not _TOKEN_BYTES.fullmatch(name):
            raise httpx.RemoteProtocolError(f"Invalid header line in the answer: {line[:100]!r}")
        headers.append((name, value.strip(b" \t")))
    return version, int(code), reason.strip(), headers


def _content_length(values: list[bytes]) -> int:
    """The one length the Content-Length fields state (repeated identical values are tolerated)."""
    lengths = {item.strip() for value in values for item in value.split(b",")}
    if len(lengths) != 1:
        raise httpx.RemoteProtocolError(f"Conflicting Content-Length: {values!r}")
    (length,) = lengths
    if not length.isdigit():
        raise httpx.RemoteProtocolError(f"Invalid Content-Length: {length[:40]!r}")
    return int(length)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks: list[bytes] = []
    while True:
        line = await reader.readline()
        if not line.endswith(b"\n"):
            raise httpx.RemoteProtocolError("Server disconnected in the middle of a chunked answer.")
        size = line.partition(b";")[0].strip()  # chunk extensions are ignored
        if not _CHUNK_SIZE.fullmatch(size):
            raise httpx.RemoteProtocolError(f"Invalid chunk size line: {line[:40]!r}")
        length = int(size, 16)
        if length == 0:
            break
        chunk = await reader.readexactly(length + 2)
        if chunk[-2:] != b"\r\n":
            raise httpx.RemoteProtocolError("A chunk does not end where its size says.")
        chunks.append(chunk[:-2])
    while True:  # trailer fields, ignored, up to the empty line
        line = await reader.readline()
        if not line.endswith(b"\n"):
            raise httpx.RemoteProtocolError("Server disconnected in the chunked answer's trailer.")
        if line in (b"\r\n", b"\n"):
            return b"".join(chunks)
