"""Incident answers that replace a real one: hanging, dropped connections, HTML and truncated garbage."""

from __future__ import annotations

import asyncio
import contextlib

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

_MAINTENANCE_PAGE = (
    b"<!DOCTYPE html><html><head><title>Maintenance</title></head><body>"
    b"<h1>Service momentan\xc3\xa9ment indisponible</h1><p>Veuillez r\xc3\xa9essayer plus tard.</p></body></html>"
)
_GATEWAY_PAGE = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
_TRUNCATED_JSON = b'{"status":"pend'


class DroppedConnection(Response):
    """Waits up to `after` seconds (or until the client gives up), starts an answer, then closes the connection.

    Returning without completing the body makes the server close the transport: the client sees a broken
    answer and cannot tell whether the payment was made.
    """

    def __init__(self, after: float = 0.0) -> None:
        super().__init__()
        self._after = after

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._after > 0:
            await _until_disconnected(receive, self._after)
        headers = [(b"content-type", b"application/json"), (b"content-length", b"4096")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})


def garbage(variant: float) -> Response:
    """An answer no client can parse: an HTML maintenance page, an nginx 502 page, or truncated JSON."""
    if variant < 1 / 3:
        return Response(_MAINTENANCE_PAGE, status_code=200, media_type="text/html; charset=utf-8")
    if variant < 2 / 3:
        return Response(_GATEWAY_PAGE, status_code=502, media_type="text/html")
    return Response(_TRUNCATED_JSON, status_code=200, media_type="application/json")


async def _until_disconnected(receive: Receive, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            while (await receive())["type"] != "http.disconnect":
                pass
